//! The pure mapping from a log event to 100ms webhook payloads.
//!
//! ```text
//! let mut ctx = RoomContext::default();           // fold of the room stream so far
//! for recorded in room_stream {
//!     let event: RoomEvent = decode_event(&recorded)?;
//!     let payloads = map(&ctx, &recorded, &event); // 0..n payloads, stable ids and bytes
//!     ctx.apply(&event);
//! }
//! ```
//!
//! No clock, no I/O: the same event in the same context always gives the same
//! envelope id and the same body bytes, which is what makes retries and
//! replays idempotent for receivers. See `docs/webhooks.md` for the fields.

use caucus_domain::room::{LeaveReason, Peer, UnpublishReason};
use caucus_domain::{Actor, PeerId, RoomEvent, Timestamp, WorkspaceId};
use caucus_eventlog::{Position, RecordedEvent};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::context::{RoomContext, track_kind, track_source};

/// The namespace of envelope ids (UUID v5 of event id + type).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6361_7563_7573_4000_8000_7765_6268_6f6f);

/// The 100ms types Caucus produces and sends by default.
pub const STANDARD_TYPES: &[&str] = &[
    "session.open.success",
    "session.close.success",
    "peer.join.success",
    "peer.join.failure",
    "peer.leave.success",
    "role.change.success",
    "role.change.failure",
    "room.end.success",
];

/// 100ms types accepted in filters but not produced: a leave or an end-room
/// that Caucus refuses is an error to its caller, not a fact in the log.
pub const NOT_PRODUCED_TYPES: &[&str] = &["peer.leave.failure", "room.end.failure"];

/// Caucus extensions, sent only to endpoints that ask for them by name.
pub const EXTENSION_TYPES: &[&str] = &[
    "caucus.track.add.success",
    "caucus.track.remove.success",
    "caucus.track.mute.success",
    "caucus.track.unmute.success",
];

/// Whether `t` is a type an endpoint may name in its filter.
pub fn is_known_type(t: &str) -> bool {
    STANDARD_TYPES.contains(&t) || NOT_PRODUCED_TYPES.contains(&t) || EXTENSION_TYPES.contains(&t)
}

/// One webhook, ready to sign and send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The envelope `id` and `webhook-id`: stable across retries and replays.
    pub id: Uuid,
    /// e.g. `peer.join.success`.
    pub webhook_type: &'static str,
    pub workspace_id: WorkspaceId,
    /// The room's stream name (the per-room ordering key).
    pub room: String,
    pub position: Position,
    pub room_sequence: u64,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The envelope id of the webhook `webhook_type` made from log event `event_id`.
pub fn envelope_id(event_id: Uuid, webhook_type: &str) -> Uuid {
    let mut name = Vec::with_capacity(16 + webhook_type.len());
    name.extend_from_slice(event_id.as_bytes());
    name.extend_from_slice(webhook_type.as_bytes());
    Uuid::new_v5(&ID_NAMESPACE, &name)
}

/// RFC3339 UTC with microseconds when there are any.
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_micros()) * 1000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

fn seconds(from: Timestamp, to: Timestamp) -> i64 {
    to.micros_since(from).max(0) / 1_000_000
}

/// The payloads for `event` (recorded as `recorded`), given the room's context
/// *before* the event. Rooms without a `RoomCreated` yet give nothing.
pub fn map(ctx: &RoomContext, recorded: &RecordedEvent, event: &RoomEvent) -> Vec<Payload> {
    let ctx = &ctx.state;
    let Some(room) = &ctx.room else {
        return Vec::new();
    };
    let workspace = &room.workspace_id;
    let template = room.template_id.to_string();
    let mut data = Map::new();
    data.insert("room_id".into(), json!(room.id.as_str()));
    data.insert("room_name".into(), json!(room.name));
    data.insert("template_id".into(), json!(template));
    let session_started = ctx.session.as_ref().map(|s| s.started_at);
    let put_session = |d: &mut Map<String, Value>| {
        if let Some(s) = &ctx.session {
            d.insert("session_id".into(), json!(s.id.as_str()));
            d.insert("session_started_at".into(), json!(rfc3339(s.started_at)));
        }
    };
    let put_peer = |d: &mut Map<String, Value>, id: &PeerId, p: &Peer| {
        d.insert("peer_id".into(), json!(id.as_str()));
        d.insert("user_id".into(), json!(p.user_id.as_str()));
        d.insert("user_name".into(), json!(p.name));
        d.insert("user_data".into(), json!(p.metadata));
        d.insert("role".into(), json!(p.role.as_str()));
        d.insert("joined_at".into(), json!(rfc3339(p.joined_at)));
    };
    let webhook_type: &'static str = match event {
        RoomEvent::SessionOpened(e) => {
            data.insert("template_id".into(), json!(e.template_id.as_str()));
            data.insert("session_id".into(), json!(e.session_id.as_str()));
            data.insert("session_started_at".into(), json!(rfc3339(e.at)));
            "session.open.success"
        }
        RoomEvent::SessionClosed(e) => {
            data.insert("session_id".into(), json!(e.session_id.as_str()));
            data.insert("session_started_at".into(), json!(rfc3339(e.started_at)));
            data.insert("session_stopped_at".into(), json!(rfc3339(e.at)));
            data.insert(
                "session_duration".into(),
                json!(seconds(e.started_at, e.at)),
            );
            "session.close.success"
        }
        RoomEvent::PeerJoined(e) => {
            data.insert("session_id".into(), json!(e.session_id.as_str()));
            if let Some(at) = session_started {
                data.insert("session_started_at".into(), json!(rfc3339(at)));
            }
            let p = Peer {
                id: e.peer_id.clone(),
                user_id: e.user_id.clone(),
                name: e.name.clone(),
                metadata: e.metadata.clone(),
                role: e.role.clone(),
                joined_at: e.at,
                tracks: Default::default(),
                role_change_requests: Default::default(),
                start_muted: Vec::new(),
            };
            put_peer(&mut data, &e.peer_id, &p);
            data.insert("type".into(), json!("regular"));
            "peer.join.success"
        }
        RoomEvent::PeerLeft(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            data.insert("session_id".into(), json!(e.session_id.as_str()));
            put_peer(&mut data, &e.peer_id, p);
            data.insert("type".into(), json!("regular"));
            data.insert("left_at".into(), json!(rfc3339(e.at)));
            data.insert("duration".into(), json!(seconds(p.joined_at, e.at)));
            data.insert("reason".into(), json!(leave_reason(e.reason)));
            if let Some(m) = &e.message {
                data.insert("message".into(), json!(m));
            }
            "peer.leave.success"
        }
        RoomEvent::RoleChanged(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_peer(&mut data, &e.peer_id, p);
            data.insert("previous_role".into(), json!(e.from.as_str()));
            data.insert("role".into(), json!(e.to.as_str()));
            data.insert("role_changed_at".into(), json!(rfc3339(e.at)));
            if let Actor::Peer(by) = &e.by {
                data.insert("role_change_requested_by".into(), json!(by.as_str()));
            }
            "role.change.success"
        }
        RoomEvent::RoomEnded(e) => {
            put_session(&mut data);
            data.insert("session_id".into(), json!(e.session_id.as_str()));
            match &e.by {
                Actor::Peer(id) => {
                    data.insert("peer_id".into(), json!(id.as_str()));
                    if let Some(p) = ctx.peers.get(id) {
                        data.insert("user_id".into(), json!(p.user_id.as_str()));
                        data.insert("user_name".into(), json!(p.name));
                        data.insert("role".into(), json!(p.role.as_str()));
                    }
                    data.insert("source".into(), json!("peer"));
                }
                Actor::Server => {
                    data.insert("source".into(), json!("api"));
                }
            }
            data.insert("lock_room".into(), json!(e.lock));
            data.insert("reason".into(), json!(e.reason));
            "room.end.success"
        }
        RoomEvent::TrackPublished(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_track_peer(&mut data, &e.peer_id, p);
            data.insert("track_id".into(), json!(e.track_id.as_str()));
            data.insert("stream_id".into(), json!(e.stream_id.as_str()));
            data.insert("track_type".into(), json!(track_kind(e.kind)));
            data.insert(
                "source".into(),
                serde_json::to_value(e.source).unwrap_or_default(),
            );
            data.insert("mute".into(), json!(e.muted));
            data.insert("started_at".into(), json!(rfc3339(e.at)));
            "caucus.track.add.success"
        }
        RoomEvent::TrackUnpublished(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_track_peer(&mut data, &e.peer_id, p);
            put_track(&mut data, p, &e.track_id);
            let reason = match e.reason {
                UnpublishReason::ClientRequest => "client request",
                UnpublishReason::RoleChanged => "role changed",
            };
            data.insert("reason".into(), json!(reason));
            data.insert("stopped_at".into(), json!(rfc3339(e.at)));
            "caucus.track.remove.success"
        }
        RoomEvent::TrackMuted(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_track_peer(&mut data, &e.peer_id, p);
            put_track(&mut data, p, &e.track_id);
            if let Actor::Peer(by) = &e.by {
                data.insert("muted_by".into(), json!(by.as_str()));
            }
            data.insert("muted_at".into(), json!(rfc3339(e.at)));
            "caucus.track.mute.success"
        }
        RoomEvent::TrackUnmuted(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_track_peer(&mut data, &e.peer_id, p);
            put_track(&mut data, p, &e.track_id);
            data.insert("unmuted_at".into(), json!(rfc3339(e.at)));
            "caucus.track.unmute.success"
        }
        RoomEvent::PeerJoinFailed(e) => {
            data.insert("peer_id".into(), json!(e.peer_id.as_str()));
            data.insert("user_id".into(), json!(e.user_id.as_str()));
            data.insert("user_name".into(), json!(e.name));
            data.insert("user_data".into(), json!(e.metadata));
            data.insert("role".into(), json!(e.role.as_str()));
            data.insert("joined_at".into(), json!(rfc3339(e.at)));
            data.insert("error_message".into(), json!(e.reason));
            data.insert("type".into(), json!("regular"));
            "peer.join.failure"
        }
        RoomEvent::RoleChangeFailed(e) => {
            let Some(p) = ctx.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            put_session(&mut data);
            put_peer(&mut data, &e.peer_id, p);
            // 100ms: `role` is the role asked for; no previous_role.
            data.insert("role".into(), json!(e.role.as_str()));
            data.insert("error_message".into(), json!(e.reason));
            if let Actor::Peer(by) = &e.by {
                data.insert("role_change_requested_by".into(), json!(by.as_str()));
            }
            "role.change.failure"
        }
        RoomEvent::RoomCreated(_)
        | RoomEvent::RoomUpdated(_)
        | RoomEvent::RoomEnabled(_)
        | RoomEvent::RoomDisabled(_)
        | RoomEvent::PeerUpdated(_)
        | RoomEvent::TrackUnmuteRequested(_)
        | RoomEvent::RoleChangeRequested(_)
        | RoomEvent::MessageBroadcast(_) => return Vec::new(),
    };
    let template_id = data
        .get("template_id")
        .cloned()
        .unwrap_or_else(|| json!(template));
    let id = envelope_id(recorded.event_id, webhook_type);
    let envelope = json!({
        "version": "2.0",
        "id": id.to_string(),
        "account_id": workspace.as_str(),
        "app_id": workspace.as_str(),
        "template_id": template_id,
        "timestamp": rfc3339(event.at()),
        "type": webhook_type,
        "data": Value::Object(data),
        "caucus": {
            "log_position": recorded.position.0,
            "room_sequence": recorded.revision,
            "event_id": recorded.event_id.to_string(),
            "event_type": recorded.event_type,
        },
    });
    vec![Payload {
        id,
        webhook_type,
        workspace_id: workspace.clone(),
        room: recorded.stream.to_string(),
        position: recorded.position,
        room_sequence: recorded.revision,
        body: serde_json::to_vec(&envelope).expect("JSON values always serialize"),
    }]
}

fn put_track_peer(d: &mut Map<String, Value>, id: &PeerId, p: &Peer) {
    d.insert("peer_id".into(), json!(id.as_str()));
    d.insert("user_id".into(), json!(p.user_id.as_str()));
    d.insert("role".into(), json!(p.role.as_str()));
}

fn put_track(d: &mut Map<String, Value>, p: &Peer, track: &caucus_domain::TrackId) {
    d.insert("track_id".into(), json!(track.as_str()));
    if let Some(t) = p.tracks.get(track) {
        d.insert("track_type".into(), json!(track_kind(t.kind)));
        d.insert("source".into(), json!(track_source(t.source)));
    }
}

/// 100ms's leave reason text.
pub fn leave_reason(r: LeaveReason) -> &'static str {
    r.as_str()
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
