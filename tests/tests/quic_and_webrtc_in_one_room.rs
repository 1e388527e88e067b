//! A room with WebRTC and QUIC peers: both see every peer and track in
//! their notifications, media flows within each transport, and across them
//! (docs/quic-protocol.md §9): a WebRTC publisher's RTP reaches QUIC
//! subscribers as groups that start at keyframes, a QUIC publisher's frames
//! reach WebRTC subscribers as RTP, and keyframe requests cross too.

use std::time::{Duration, Instant};

use caucus_sdk::quic::media::FrameShape;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_crosses_between_webrtc_and_quic_peers() {
    let server = Served::start(&[]);
    let roles = json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host"] },
        },
    });
    let room = server.room_with_roles("crossing", roles);
    let opts = |user: &str| {
        let mut o = JoinOptions::new(server.base_url(), server.app_token(&room, "host", user));
        o.name = user.to_owned();
        o
    };
    let (w1, _w1_events) = Client::join(opts("webrtc-1")).await.expect("webrtc joins");
    let (q1, _q1_events) = QuicClient::join(opts("quic-1")).await.expect("quic joins");
    let w_mic = w1.publish_audio().await.expect("webrtc publishes audio");
    let w_cam = w1.publish_video().await.expect("webrtc publishes video");
    let q_mic = q1
        .publish(TrackKind::Audio)
        .await
        .expect("quic publishes audio");
    // Frames of 3,000 bytes (three RTP packets each) and no keyframe after
    // the first unless someone asks for one.
    let shape = FrameShape {
        fps: 30,
        bytes: 3000,
        gop: 1_000_000,
    };
    let q_cam = q1
        .publish_shaped(TrackKind::Video, shape)
        .await
        .expect("quic publishes video");

    // WebRTC → QUIC: audio frames, and video groups that each start with a
    // keyframe.
    until("webrtc audio at the quic peer", || {
        q1.track_stats(&w_mic).is_some_and(|s| s.objects >= 20)
    })
    .await;
    until("webrtc video at the quic peer", || {
        q1.track_stats(&w_cam)
            .is_some_and(|s| s.objects >= 30 && s.groups >= 1)
    })
    .await;
    let s = q1.track_stats(&w_cam).unwrap();
    assert_eq!(s.groups_without_keyframe, 0, "{s:?}");

    // QUIC → WebRTC: RTP for every frame, audio too.
    until("quic audio at the webrtc peer", || {
        w1.remote_track_stats(&q_mic)
            .is_some_and(|s| s.packets >= 20)
    })
    .await;
    until("quic video at the webrtc peer", || {
        w1.remote_track_stats(&q_cam)
            .is_some_and(|s| s.packets >= 90 && s.keyframes >= 1)
    })
    .await;
    let video = w1.remote_track_stats(&q_cam).unwrap();
    assert!(
        video.bytes >= 30 * 3000,
        "the frames arrive whole (3 packets each): {video:?}"
    );

    // Late joiners on both sides start at a keyframe. The QUIC publisher
    // sends one only when asked: the new WebRTC peer's request must cross.
    let (w2, _w2_events) = Client::join(opts("webrtc-2")).await.expect("webrtc joins");
    let (q2, _q2_events) = QuicClient::join(opts("quic-2")).await.expect("quic joins");
    until("a keyframe for the late webrtc peer", || {
        w2.remote_track_stats(&q_cam)
            .is_some_and(|s| s.keyframes >= 1 && s.packets >= 30)
    })
    .await;
    until("webrtc video at the late quic peer", || {
        q2.track_stats(&w_cam)
            .is_some_and(|s| s.objects >= 30 && s.groups >= 1)
    })
    .await;
    let s = q2.track_stats(&w_cam).unwrap();
    assert_eq!(s.groups_without_keyframe, 0, "{s:?}");

    // Muted on one side: the other stops receiving it, and gets it again
    // after the unmute.
    q1.set_muted(&q_cam, true).await.expect("mute");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = w1.remote_track_stats(&q_cam).unwrap().packets;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        w1.remote_track_stats(&q_cam).unwrap().packets,
        settled,
        "no packets while muted"
    );
    q1.set_muted(&q_cam, false).await.expect("unmute");
    until("quic video again after the unmute", || {
        w1.remote_track_stats(&q_cam)
            .is_some_and(|s| s.packets >= settled + 30)
    })
    .await;

    w2.leave().await.expect("leave");
    w1.leave().await.expect("leave");
    q2.leave().await;
    q1.leave().await;
}
