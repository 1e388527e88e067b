//! A second `attach` of a known peer (its signalling reconnected) keeps its
//! connections and tracks, and events go to the new receiver.

mod common;

use std::time::Duration;

use caucus_media::{PeerEvent, Transport};
use common::*;

#[tokio::test]
async fn reattach_keeps_media_flowing() {
    let mut r = Room::join().await;
    r.pump(Duration::from_millis(600));
    let before = r.bob.received_for(VIDEO);
    assert!(before > 0);

    let mut bob_events = r.transport.attach(&room(), &peer(BOB)).await.unwrap();
    let mut alice_events = r.transport.attach(&room(), &peer(ALICE)).await.unwrap();
    r.pump(Duration::from_millis(800));
    assert!(r.bob.received_for(VIDEO) > before + 10, "media stopped");
    assert!(r.bob.received_for(AUDIO) > 10);

    // Later events arrive on the new receivers: a plan change re-offers.
    r.transport.set_plan(&room(), plan(&[], false)).await;
    let offer = next_offer(&mut bob_events).await;
    assert!(!offer.sdp.contains(VIDEO));
    assert!(
        !drain_events(&mut r.bob_events)
            .iter()
            .any(|e| matches!(e, PeerEvent::SubscribeOffer(_))),
        "the old receiver still gets events"
    );
    drop(alice_events.try_recv());
    r.transport.detach(&peer(BOB)).await;
    r.transport.detach(&peer(ALICE)).await;
}
