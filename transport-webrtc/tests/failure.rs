//! A client that goes silent is reported `Failed` once ICE has been
//! disconnected for the configured time.

mod common;

use std::time::{Duration, Instant};

use caucus_media::{PeerEvent, Target};
use common::*;

#[tokio::test]
async fn silent_publisher_is_reported_failed() {
    let transport = start_with(|c| c.disconnect_timeout = Duration::from_secs(1));
    let mut r = Room::join_on(transport).await;
    r.pump(Duration::from_millis(300));
    drain_events(&mut r.alice_events);

    // Alice stops answering; Bob keeps going.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failed = None;
    while Instant::now() < deadline && failed.is_none() {
        pump(&mut [&mut r.bob], Duration::from_millis(100));
        failed = drain_events(&mut r.alice_events).into_iter().find(|e| {
            matches!(
                e,
                PeerEvent::Failed {
                    target: Target::Publish,
                    ..
                }
            )
        });
    }
    // (Alice's subscribe connection, never answered by a running client,
    // fails too.)
    assert!(failed.is_some(), "no failure of the publish connection");
    // Bob's connection is untouched.
    assert!(
        !drain_events(&mut r.bob_events)
            .iter()
            .any(|e| matches!(e, PeerEvent::Failed { .. }))
    );
}
