//! Replaying a position range (or a time range) redelivers exactly the
//! webhooks of that range, with the ids and bodies of the first delivery.

mod webhook_support;

use std::time::Duration;

use caucus_domain::Timestamp;
use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::{Selection, Webhooks};
use webhook_support::*;

#[tokio::test]
async fn a_range_replay_redelivers_exactly_that_range_with_the_same_ids() {
    let log = MemoryLog::new();
    let receiver = Receiver::start(Mode::Ok).await;
    let hooks = Webhooks::start(log.clone(), None, fast_config(Duration::from_secs(5)))
        .await
        .unwrap();
    let ws = workspace(1);
    let (endpoint, _) = hooks.create(&ws, spec(&receiver.url)).await.unwrap();
    for room in 0..4 {
        append_script(log.as_ref(), room, &room_script(&ws, room, 2)).await;
    }
    let expected = expected_payloads(log.as_ref()).await;
    receiver
        .wait_until(Duration::from_secs(10), |a| a.len() >= expected.len())
        .await;
    let first = receiver.accepted();
    assert_eq!(first.len(), expected.len());

    // A range in the middle of the log, cutting rooms in half.
    let (from, to) = (expected[5].position.0, expected[17].position.0);
    let in_range: Vec<_> = expected
        .iter()
        .filter(|p| (from..=to).contains(&p.position.0))
        .collect();
    let queued = hooks
        .redeliver(&ws, &endpoint.id, Selection::Positions { from, to })
        .await
        .unwrap();
    assert_eq!(queued, in_range.len());
    let n = first.len() + in_range.len();
    receiver
        .wait_until(Duration::from_secs(10), |a| a.len() >= n)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let replayed = &receiver.accepted()[first.len()..];
    assert_eq!(replayed.len(), in_range.len(), "exactly the range");
    for (got, want) in replayed.iter().zip(&in_range) {
        assert_eq!(got.id, want.id.to_string());
        assert_eq!(got.raw, want.body, "same bytes as the first delivery");
        let original = first.iter().find(|r| r.id == got.id).unwrap();
        assert_eq!(original.raw, got.raw);
    }

    // One event alone.
    let one = expected[3].position.0;
    assert_eq!(
        hooks
            .redeliver(&ws, &endpoint.id, Selection::Position(one))
            .await
            .unwrap(),
        1
    );
    // A time range covering everything recorded so far.
    let all = hooks
        .redeliver(
            &ws,
            &endpoint.id,
            Selection::Time {
                after: Timestamp::EPOCH,
                before: Timestamp::from_unix_seconds(4_000_000_000),
            },
        )
        .await
        .unwrap();
    assert_eq!(all, expected.len());
    // Bad ranges are refused.
    assert!(
        hooks
            .redeliver(&ws, &endpoint.id, Selection::Positions { from: 9, to: 3 })
            .await
            .is_err()
    );
}
