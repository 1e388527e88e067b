//! A room with WebRTC and QUIC peers: both see every peer and track in
//! their notifications, the WebRTC peers' media keeps flowing between
//! them and the QUIC peers' between them. (Media between the two
//! transports is not implemented yet: docs/quic-protocol.md §11.)

use std::time::{Duration, Instant};

use caucus_sdk::{Client, Event, JoinOptions, QuicClient, TrackKind};
use caucus_tests::served::Served;
use serde_json::{Value, json};
use tokio::sync::mpsc;

async fn until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (≤ 10 s) for a notification `method` whose params satisfy `f`.
async fn notified(events: &mut mpsc::Receiver<Event>, method: &str, f: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Notification { method: m, params })) if m == method && f(&params) => {
                return;
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("events ended before {method}"),
            Err(_) => panic!("no matching {method} within 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_and_quic_peers_share_a_room_without_harm() {
    let server = Served::start(&[]);
    let roles = json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host"] },
        },
    });
    let room = server.room_with_roles("mixed", roles);
    let opts = |user: &str| {
        let mut o = JoinOptions::new(server.base_url(), server.app_token(&room, "host", user));
        o.name = user.to_owned();
        o
    };
    let (w1, _w1_events) = Client::join(opts("webrtc-1")).await.expect("webrtc joins");
    let (q1, mut q1_events) = QuicClient::join(opts("quic-1")).await.expect("quic joins");
    let w_mic = w1.publish_audio().await.expect("webrtc publishes");
    let q_mic = q1.publish(TrackKind::Audio).await.expect("quic publishes");
    let (w2, mut w2_events) = Client::join(opts("webrtc-2")).await.expect("webrtc joins");
    let (q2, _q2_events) = QuicClient::join(opts("quic-2")).await.expect("quic joins");

    // Everyone is told about everyone's tracks, whatever the transport.
    notified(&mut q1_events, "on-track-add", |p| {
        p["tracks"][&w_mic].is_object()
    })
    .await;
    notified(&mut w2_events, "peer-list", |p| {
        p["peers"][q1.peer_id()]["tracks"][&q_mic].is_object()
    })
    .await;

    // Media flows within each transport.
    until("webrtc → webrtc audio", || {
        w2.remote_track_stats(&w_mic)
            .is_some_and(|s| s.packets >= 20)
    })
    .await;
    until("quic → quic audio", || {
        q2.track_stats(&q_mic).is_some_and(|s| s.objects >= 20)
    })
    .await;
    w2.leave().await.expect("leave");
    w1.leave().await.expect("leave");
    q2.leave().await;
    q1.leave().await;
}
