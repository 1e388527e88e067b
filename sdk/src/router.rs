//! The client's router task: the one place that reacts to the server and to
//! the two connections. It applies server offers to the subscribe connection
//! and answers them, adds trickled candidates, forwards local candidates
//! (held until `join` is answered, as the 100ms SDK does), starts a counter
//! task per received track, follows `on-peer-leave-request`, and reports
//! everything as [`Event`]s. When the socket ends it closes the media and
//! reports [`Event::Closed`].

use std::sync::Arc;

use caucus_media::{IceCandidate, SessionDescription, Target};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::client::Shared;
use crate::connection::{self, ConnEvent};
use crate::error::SdkError;
use crate::events::Event;
use crate::messages;
use crate::signal::Notified;

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut notifications: mpsc::UnboundedReceiver<Notified>,
    mut conn_events: mpsc::UnboundedReceiver<ConnEvent>,
    mut joined: watch::Receiver<bool>,
) {
    let mut held: Vec<(Target, IceCandidate)> = Vec::new();
    let mut is_joined = false;
    loop {
        tokio::select! {
            biased;
            n = notifications.recv() => match n {
                Some((method, params)) => on_notification(&shared, method, params).await,
                None => break,
            },
            c = conn_events.recv() => match c {
                Some(ConnEvent::Candidate(target, candidate)) => {
                    if is_joined {
                        send_trickle(&shared, target, &candidate);
                    } else {
                        held.push((target, candidate));
                    }
                }
                Some(ConnEvent::State(target, state)) => {
                    if target == Target::Publish {
                        shared
                            .publish_connected
                            .send_replace(state == RTCPeerConnectionState::Connected);
                    }
                    shared.events.emit(Event::ConnectionState {
                        target,
                        state: state.to_string(),
                    });
                }
                Some(ConnEvent::Track(track)) => {
                    let task = tokio::spawn(shared.remote.clone().receive(track, shared.events.clone()));
                    shared.add_task(task);
                }
                Some(ConnEvent::DataChannel(dc)) => shared.keep_data_channel(dc),
                None => {}
            },
            changed = joined.changed(), if !is_joined => {
                if changed.is_err() || !*joined.borrow() {
                    continue;
                }
                is_joined = true;
                for (target, candidate) in held.drain(..) {
                    send_trickle(&shared, target, &candidate);
                }
            }
        }
    }
    let info = shared.signal.closed().await;
    let reason = shared
        .take_leave_reason()
        .unwrap_or_else(|| info.to_string());
    shared.shutdown_media().await;
    shared.events.emit(Event::Closed { reason });
}

fn send_trickle(shared: &Shared, target: Target, candidate: &IceCandidate) {
    let params = json!({ "target": target.wire(), "candidate": candidate });
    if let Err(e) = shared.signal.notify("trickle", &params) {
        tracing::debug!(error = %e, "could not trickle a local candidate");
    }
}

async fn on_notification(shared: &Arc<Shared>, method: String, params: Value) {
    match method.as_str() {
        "offer" => {
            if let Err(e) = answer_subscribe_offer(shared, &params).await {
                tracing::warn!(error = %e, "could not answer the server's subscribe offer");
            }
        }
        "trickle" => {
            let target = params
                .get("target")
                .and_then(Value::as_u64)
                .and_then(Target::from_wire);
            let candidate = params
                .get("candidate")
                .cloned()
                .and_then(|c| serde_json::from_value::<IceCandidate>(c).ok());
            match (target, candidate) {
                (Some(Target::Publish), Some(c)) => shared.publish.add_remote_candidate(c).await,
                (Some(Target::Subscribe), Some(c)) => {
                    shared.subscribe.add_remote_candidate(c).await
                }
                _ => tracing::warn!(%params, "ignoring a malformed trickle"),
            }
        }
        "on-peer-leave-request" => {
            let by = params
                .get("requested_by")
                .and_then(Value::as_str)
                .unwrap_or("the server");
            let why = params.get("reason").and_then(Value::as_str).unwrap_or("");
            let room_end = params
                .get("room_end")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let reason = if room_end {
                format!("the room was ended by {by}: {why}")
            } else {
                format!("removed by {by}: {why}")
            };
            shared.set_leave_reason(reason);
            // Stop sending at once; the server closes the socket.
            shared.stop_senders().await;
        }
        // A remote mute: the server has muted our track already and asks us
        // to follow (as the 100ms SDK does). An unmute request is the
        // application's decision: it only shows as an event.
        "on-track-update-request" if params.get("mute") == Some(&Value::Bool(true)) => {
            if let Some(track_id) = params.get("track_id").and_then(Value::as_str) {
                shared.mute_own_track(track_id).await;
            }
        }
        "on-policy-change" => shared.set_policy(params.clone()),
        "on-role-change"
            if params.get("peer_id").and_then(Value::as_str) == Some(shared.peer_id.as_str()) =>
        {
            let role = params.get("role").and_then(Value::as_str).unwrap_or("");
            if let Some(allowed) = shared.allowed_to_publish(role) {
                // Renegotiating waits for the server's answer, which this
                // loop must not block: its own task does it.
                let s = shared.clone();
                shared.add_task(tokio::spawn(async move {
                    if let Err(e) = s.drop_disallowed(&allowed).await {
                        tracing::warn!(error = %e, "could not drop tracks the new role may not publish");
                    }
                }));
            }
        }
        "on-track-update"
            if params.pointer("/peer/peer_id").and_then(Value::as_str)
                == Some(shared.peer_id.as_str()) =>
        {
            shared
                .sync_own_mutes(crate::subscribe::tracks_of(params.get("tracks")))
                .await;
        }
        _ => shared.remote.observe(&method, &params),
    }
    shared.events.emit(Event::Notification { method, params });
}

async fn answer_subscribe_offer(shared: &Shared, params: &Value) -> Result<(), SdkError> {
    let offer = messages::description(params, "offer")
        .ok_or_else(|| SdkError::Protocol("an offer notification without an offer sdp".into()))?;
    let conn = &shared.subscribe;
    conn.set_remote(connection::remote_description(&offer)?)
        .await?;
    let answer = conn
        .pc
        .create_answer(None)
        .await
        .map_err(|e| SdkError::webrtc("creating the subscribe answer", e))?;
    conn.pc
        .set_local_description(answer.clone())
        .await
        .map_err(|e| SdkError::webrtc("applying the subscribe answer", e))?;
    let sdp = conn
        .pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .unwrap_or(answer.sdp);
    shared.signal.notify(
        "answer",
        &json!({ "desc": SessionDescription::answer(sdp) }),
    )?;
    Ok(())
}
