//! Two webrtc-rs connections of this crate talking over loopback, without a
//! server: the publish side's offer carries the msid, only loopback
//! candidates are gathered, and the subscribe side counts the synthetic
//! media (keyframes included).

use std::sync::Arc;
use std::time::Duration;

use caucus_media::Target;
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::connection::{self, Conn, ConnEvent};
use crate::events::{Event, EventSink};
use crate::messages::TrackKind;
use crate::publish::{self, SendControl};
use crate::sdp;
use crate::subscribe::Remote;
use crate::synth::vp8::{Vp8Config, Vp8Synth};

async fn pump(
    mut rx: mpsc::UnboundedReceiver<ConnEvent>,
    other: Arc<Conn>,
    remote: Arc<Remote>,
    events: EventSink,
    candidates: mpsc::UnboundedSender<String>,
    connected: watch::Sender<bool>,
) {
    while let Some(ev) = rx.recv().await {
        match ev {
            ConnEvent::Candidate(_, c) => {
                let _ = candidates.send(c.candidate.clone());
                other.add_remote_candidate(c).await;
            }
            ConnEvent::State(_, s) => {
                connected.send_replace(s == RTCPeerConnectionState::Connected);
            }
            ConnEvent::Track(t) => {
                tokio::spawn(remote.clone().receive(t, events.clone()));
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_flows_between_two_loopback_connections() {
    let (pub_tx, pub_rx) = mpsc::unbounded_channel();
    let (sub_tx, sub_rx) = mpsc::unbounded_channel();
    let publisher = Arc::new(connection::build(Target::Publish, pub_tx).await.unwrap());
    let subscriber = Arc::new(connection::build(Target::Subscribe, sub_tx).await.unwrap());
    let remote = Arc::new(Remote::default());
    let (events, mut events_rx) = EventSink::new(64);
    let (cand_tx, mut cand_rx) = mpsc::unbounded_channel();
    let connected = watch::Sender::new(false);
    tokio::spawn(pump(
        pub_rx,
        subscriber.clone(),
        remote.clone(),
        events.clone(),
        cand_tx.clone(),
        connected.clone(),
    ));
    tokio::spawn(pump(
        sub_rx,
        publisher.clone(),
        remote.clone(),
        events.clone(),
        cand_tx,
        watch::Sender::new(false),
    ));

    let (track, sender, ssrc, mime) =
        publish::add_track(&publisher, TrackKind::Video, "stream-1", "track-1")
            .await
            .unwrap();
    let offer = publisher.pc.create_offer(None).await.unwrap();
    publisher.pc.set_local_description(offer).await.unwrap();
    let offer_sdp = publisher.pc.local_description().await.unwrap().sdp;
    assert_eq!(
        sdp::msid_tracks(&offer_sdp),
        vec![("stream-1".to_owned(), "track-1".to_owned())],
        "{offer_sdp}"
    );
    let offer_desc = caucus_media::SessionDescription::offer(offer_sdp);
    subscriber
        .set_remote(connection::remote_description(&offer_desc).unwrap())
        .await
        .unwrap();
    let answer = subscriber.pc.create_answer(None).await.unwrap();
    subscriber.pc.set_local_description(answer).await.unwrap();
    let answer_sdp = subscriber.pc.local_description().await.unwrap().sdp;
    publisher
        .set_remote(
            connection::remote_description(&caucus_media::SessionDescription::answer(answer_sdp))
                .unwrap(),
        )
        .await
        .unwrap();

    let control = Arc::new(SendControl::default());
    let cfg = Vp8Config {
        keyframe_interval: 5,
        ..Vp8Config::default()
    };
    let _task = publish::spawn_sender(
        track,
        sender,
        Box::new(Vp8Synth::new(cfg)),
        control.clone(),
        ssrc,
        mime,
        connected.subscribe(),
    );

    let mut got_track = None;
    let mut got_first = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(got_track.is_some() && got_first) {
        match tokio::time::timeout_at(deadline, events_rx.recv()).await {
            Ok(Some(Event::TrackReceived { track_id, kind, .. })) => {
                got_track = Some((track_id, kind))
            }
            Ok(Some(Event::FirstPacket { .. })) => got_first = true,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!(
                "no media within 15 s: track {got_track:?}, sent {:?}",
                control.stats()
            ),
        }
    }
    assert_eq!(got_track, Some(("track-1".to_owned(), TrackKind::Video)));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stats = remote.stats("track-1").expect("counters for track-1");
    assert!(stats.packets > 10, "{stats:?}");
    assert!(stats.keyframes >= 1, "{stats:?}");
    assert!(control.stats().packets >= stats.packets);

    let mut seen = 0;
    while let Ok(c) = cand_rx.try_recv() {
        seen += 1;
        assert!(
            sdp::is_loopback_candidate(&c),
            "a non-loopback candidate: {c}"
        );
    }
    assert!(seen > 0, "no candidate was gathered");
    let _ = publisher.pc.close().await;
    let _ = subscriber.pc.close().await;
}
