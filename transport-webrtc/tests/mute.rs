//! A muted track stays planned (no renegotiation) but no packet of it flows;
//! unmuting resumes it.

mod common;

use std::time::Duration;

use caucus_media::{PeerEvent, Transport};
use common::*;

#[tokio::test]
async fn muting_stops_packets_and_unmuting_resumes_them() {
    let mut r = Room::join().await;
    r.pump(Duration::from_millis(600));
    assert!(r.bob.received_for(VIDEO) > 0);

    r.transport.set_plan(&room(), plan(&[BOB], true)).await;
    // Packets already in flight may still land.
    r.pump(Duration::from_millis(200));
    let (a, v) = (r.bob.received_for(AUDIO), r.bob.received_for(VIDEO));
    r.pump(Duration::from_millis(800));
    assert_eq!(r.bob.received_for(AUDIO), a, "audio flowed while muted");
    assert_eq!(r.bob.received_for(VIDEO), v, "video flowed while muted");
    let offers = drain_events(&mut r.bob_events)
        .into_iter()
        .filter(|e| matches!(e, PeerEvent::SubscribeOffer(_)))
        .count();
    assert_eq!(offers, 0, "muting renegotiated");

    r.transport.set_plan(&room(), plan(&[BOB], false)).await;
    r.pump(Duration::from_millis(800));
    assert!(r.bob.received_for(AUDIO) > a + 10, "audio did not resume");
    assert!(r.bob.received_for(VIDEO) > v + 10, "video did not resume");
}
