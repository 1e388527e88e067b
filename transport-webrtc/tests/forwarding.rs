//! A subscriber receives the publisher's audio and video, on m-lines that
//! carry the publisher's msid track ids; the first packets report
//! `TrackFlowing` and the connections report `Connected`.

mod common;

use std::time::Duration;

use caucus_media::{PeerEvent, Target};
use common::*;

#[tokio::test]
async fn subscriber_receives_the_publishers_tracks() {
    let mut r = Room::join().await;
    let ids: Vec<&str> = r.bob.tracks.values().map(String::as_str).collect();
    assert!(ids.contains(&AUDIO) && ids.contains(&VIDEO), "{ids:?}");

    r.pump(Duration::from_secs(1));
    let (a1, v1) = (r.bob.received_for(AUDIO), r.bob.received_for(VIDEO));
    r.pump(Duration::from_secs(1));
    let (a2, v2) = (r.bob.received_for(AUDIO), r.bob.received_for(VIDEO));
    assert!(a1 > 0 && v1 > 0, "nothing received: {a1} {v1}");
    assert!(
        a2 > a1 + 10 && v2 > v1 + 10,
        "counts stalled: {a1}->{a2} {v1}->{v2}"
    );

    let stats = r.transport.stats();
    assert!(stats.packets_received >= stats.packets_forwarded / 2);
    assert!(stats.packets_forwarded >= a2 + v2);

    let alice = drain_events(&mut r.alice_events);
    for t in [AUDIO, VIDEO] {
        assert!(
            alice.contains(&PeerEvent::TrackFlowing { track: track(t) }),
            "{alice:?}"
        );
    }
    assert!(alice.contains(&PeerEvent::Connected {
        target: Target::Publish
    }));
    let bob = drain_events(&mut r.bob_events);
    assert!(bob.contains(&PeerEvent::Connected {
        target: Target::Subscribe
    }));
}
