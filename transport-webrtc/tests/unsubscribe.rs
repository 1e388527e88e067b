//! Taking a subscriber out of the plan stops its packets at once and
//! re-offers its subscribe connection without the tracks' msid.

mod common;

use std::time::Duration;

use caucus_media::Transport;
use common::*;

#[tokio::test]
async fn removed_subscriber_stops_receiving_and_gets_a_new_offer() {
    let mut r = Room::join().await;
    r.pump(Duration::from_millis(600));
    assert!(r.bob.received_for(AUDIO) > 0);

    r.transport.set_plan(&room(), plan(&[], false)).await;
    let offer = next_offer(&mut r.bob_events).await;
    let tracks = msid_tracks(&offer.sdp);
    assert!(
        !tracks.values().any(|t| t == AUDIO || t == VIDEO),
        "removed tracks still offered: {tracks:?}"
    );
    r.pump(Duration::from_millis(200));
    let (a, v) = (r.bob.received_for(AUDIO), r.bob.received_for(VIDEO));
    r.pump(Duration::from_millis(800));
    assert_eq!(r.bob.received_for(AUDIO), a);
    assert_eq!(r.bob.received_for(VIDEO), v);

    // The client answers; subscribing again works on the same connection.
    let answer = r.bob.answer(&offer);
    r.transport
        .subscribe_answer(&peer(BOB), &answer)
        .await
        .unwrap();
    r.transport.set_plan(&room(), plan(&[BOB], false)).await;
    let offer = next_offer(&mut r.bob_events).await;
    let answer = r.bob.answer(&offer);
    r.transport
        .subscribe_answer(&peer(BOB), &answer)
        .await
        .unwrap();
    r.pump(Duration::from_millis(1000));
    assert!(
        r.bob.received_for(AUDIO) > 10,
        "no audio after resubscribing"
    );
    assert!(
        r.bob.received_for(VIDEO) > 10,
        "no video after resubscribing"
    );
}
