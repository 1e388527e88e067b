//! A receiver that always fails ends in the dead-letter list; once it is
//! fixed, a redeliver call delivers every dead letter exactly once.

mod webhook_support;

use std::time::Duration;

use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::{Selection, Webhooks};
use webhook_support::*;

#[tokio::test]
async fn dead_letters_are_redelivered_once_the_receiver_is_fixed() {
    let log = MemoryLog::new();
    let receiver = Receiver::start(Mode::AlwaysFail).await;
    let hooks = Webhooks::start(log.clone(), None, fast_config(Duration::from_millis(150)))
        .await
        .unwrap();
    let ws = workspace(1);
    let (endpoint, _) = hooks.create(&ws, spec(&receiver.url)).await.unwrap();
    for room in 0..2 {
        append_script(log.as_ref(), room, &room_script(&ws, room, 1)).await;
    }
    let expected = expected_payloads(log.as_ref()).await;
    assert_eq!(expected.len(), 8);

    // Every webhook is tried, given up on, and dead-lettered; the rooms move on.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while hooks.dead_letters(&ws, &endpoint.id).unwrap().len() < expected.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "not all dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = hooks.dead_letters(&ws, &endpoint.id).unwrap();
    assert!(
        dead.iter()
            .all(|d| d.attempts > 1 && d.last_status == Some(503))
    );
    let mut dead_ids: Vec<_> = dead.iter().map(|d| d.envelope_id).collect();
    let mut want: Vec<_> = expected.iter().map(|p| p.id).collect();
    dead_ids.sort();
    want.sort();
    assert_eq!(dead_ids, want);
    // The checkpoint passes dead-lettered events.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while hooks
        .progress(&endpoint.id)
        .unwrap()
        .checkpoint
        .map(|p| p.0)
        < expected.last().map(|p| p.position.0)
    {
        assert!(std::time::Instant::now() < deadline, "checkpoint stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    receiver.set_mode(Mode::Ok);
    let queued = hooks
        .redeliver(&ws, &endpoint.id, Selection::DeadLetters)
        .await
        .unwrap();
    assert_eq!(queued, expected.len());
    receiver
        .wait_until(Duration::from_secs(10), |a| a.len() >= expected.len())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let accepted = receiver.accepted();
    assert_eq!(
        accepted.len(),
        expected.len(),
        "each delivered exactly once"
    );
    // In position order, with the original ids and bytes.
    for (got, want) in accepted.iter().zip(&expected) {
        assert_eq!(got.id, want.id.to_string());
        assert_eq!(got.raw, want.body);
    }
    assert!(hooks.dead_letters(&ws, &endpoint.id).unwrap().is_empty());
    let redeliveries = hooks
        .deliveries(&ws, &endpoint.id, 100, Some(true))
        .unwrap();
    assert!(redeliveries.iter().all(|a| a.redelivery));
}
