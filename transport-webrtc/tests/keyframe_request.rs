//! A subscriber's PLI reaches the publisher, at most once per throttle
//! interval however often it is sent.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn subscriber_pli_reaches_the_publisher_throttled() {
    let mut r = Room::join().await;
    r.pump(Duration::from_millis(700));
    let before = r.alice.keyframe_requests;
    let sent_before = r.transport.stats().keyframe_requests_sent;

    // 40 PLIs over one second; the throttle allows one per 500 ms.
    let start = Instant::now();
    for _ in 0..40 {
        r.bob.request_keyframe(VIDEO);
        r.pump(Duration::from_millis(25));
    }
    r.pump(Duration::from_millis(300));
    let elapsed = start.elapsed();
    let got = r.alice.keyframe_requests - before;
    let sent = r.transport.stats().keyframe_requests_sent - sent_before;
    let allowed = (elapsed.as_millis() / 500) as u64 + 1;
    assert!(got >= 1, "no keyframe request reached the publisher");
    assert!(sent >= 1);
    assert!(
        sent <= allowed,
        "{sent} requests upstream in {elapsed:?} (at most {allowed})"
    );
    assert!(got <= allowed + 1, "{got} requests reached the publisher");
}
