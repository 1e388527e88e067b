//! A publisher's simulcast layers (f/h/q) are accepted; each subscriber gets
//! one layer, the highest present.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn subscriber_gets_the_highest_simulcast_layer() {
    let mut alice = Client::new();
    alice.simulcast = true;
    let mut r = Room::join_with(start(), alice).await;
    r.pump(Duration::from_millis(1200));
    let f = r.bob.video_tags.get(&b'f').copied().unwrap_or(0);
    assert!(f > 10, "layer f not received: {:?}", r.bob.video_tags);
    // Before f is seen another layer may briefly be forwarded; after, only f.
    let others: u64 = r
        .bob
        .video_tags
        .iter()
        .filter(|(t, _)| **t != b'f')
        .map(|(_, n)| *n)
        .sum();
    r.pump(Duration::from_millis(600));
    let others_after: u64 = r
        .bob
        .video_tags
        .iter()
        .filter(|(t, _)| **t != b'f')
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(others, others_after, "{:?}", r.bob.video_tags);
    assert!(r.bob.video_tags[&b'f'] > f);
    assert!(r.bob.received_for(AUDIO) > 10);
}
