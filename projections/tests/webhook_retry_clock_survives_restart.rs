//! A delivery that is failing keeps its retry clock across a restart: the
//! restarted consumer waits for the attempt that was due, numbers it as the
//! next attempt, and gives up when the time since the *first* attempt runs
//! out, not a full window after the restart.

mod webhook_support;

use std::time::Duration;

use caucus_eventlog::EmbeddedLog;
use caucus_projections::webhooks::{DeliveryConfig, RetryPolicy, Webhooks};
use webhook_support::*;

const WAIT: Duration = Duration::from_millis(1500);

/// A fixed 1.5 s between attempts, no jitter; the third failure is the last
/// (a fourth attempt would start 4.5 s after the first, past 4 s).
fn config() -> DeliveryConfig {
    DeliveryConfig {
        retry: RetryPolicy {
            delays: vec![WAIT],
            then_from: WAIT,
            max_delay: WAIT,
            jitter: 0.0,
            give_up_after: Duration::from_secs(4),
        },
        ..fast_config(Duration::from_secs(4))
    }
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_failing_delivery_resumes_its_backoff_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path().join("log")).unwrap();
    let receiver = Receiver::start(Mode::AlwaysFail).await;
    let ws = workspace(1);
    let hooks = Webhooks::start(log.clone(), Some(dir.path().join("webhooks")), config())
        .await
        .unwrap();
    let (endpoint, _) = hooks.create(&ws, spec(&receiver.url)).await.unwrap();
    // The room's first webhook fails forever and holds the room's lane.
    append_script(log.as_ref(), 0, &room_script(&ws, 0, 1)).await;
    until("the first attempt", || !receiver.received().is_empty()).await;
    let first = receiver.received()[0].clone();
    let retries = dir
        .path()
        .join("webhooks")
        .join(&endpoint.id)
        .join("retries.json");
    until("the retry clock on disk", || {
        std::fs::read_to_string(&retries).is_ok_and(|s| s.contains("\"attempts\":1"))
    })
    .await;

    // "Crash": the service goes away without a word; a new one starts on
    // the same directory.
    drop(hooks);
    let hooks = Webhooks::start(log.clone(), Some(dir.path().join("webhooks")), config())
        .await
        .unwrap();
    until("the dead letter", || {
        !hooks.dead_letters(&ws, &endpoint.id).unwrap().is_empty()
    })
    .await;

    let tries: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.id == first.id)
        .collect();
    assert_eq!(tries.len(), 3, "three attempts in all, across the restart");
    let gap = tries[1].at - tries[0].at;
    assert!(
        gap >= WAIT - Duration::from_millis(50),
        "the attempt after the restart waited for its time: {gap:?}"
    );
    let dead = hooks.dead_letters(&ws, &endpoint.id).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].attempts, 3,
        "the count went on from before the restart"
    );
    let since_first = tries[2].at - tries[0].at;
    assert!(
        since_first < Duration::from_secs(4),
        "gave up within the window of the first attempt: {since_first:?}"
    );
    // The delivery log numbers the attempts on from the restart.
    let numbers: Vec<u32> = hooks
        .deliveries(&ws, &endpoint.id, 100, None)
        .unwrap()
        .iter()
        .filter(|a| a.envelope_id.to_string() == first.id)
        .map(|a| a.attempt)
        .collect();
    assert_eq!(numbers, vec![3, 2, 1], "newest first");
    // A finished delivery leaves no clock behind.
    until("the clock removed", || {
        std::fs::read_to_string(&retries)
            .is_ok_and(|s| !s.contains(&format!("\"position\":{}", first.position())))
    })
    .await;
}
