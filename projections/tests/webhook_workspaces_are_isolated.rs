//! An endpoint of one workspace never receives another workspace's events,
//! and cannot be seen or managed through another workspace.

mod webhook_support;

use std::time::Duration;

use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::{Selection, Webhooks};
use webhook_support::*;

#[tokio::test]
async fn each_endpoint_gets_only_its_workspace_events() {
    let log = MemoryLog::new();
    let (a, b) = (workspace(1), workspace(2));
    let ra = Receiver::start(Mode::Ok).await;
    let rb = Receiver::start(Mode::Ok).await;
    let hooks = Webhooks::start(log.clone(), None, fast_config(Duration::from_secs(5)))
        .await
        .unwrap();
    let (ea, _) = hooks.create(&a, spec(&ra.url)).await.unwrap();
    let (eb, _) = hooks.create(&b, spec(&rb.url)).await.unwrap();
    for room in 0..6 {
        let ws = if room % 2 == 0 { &a } else { &b };
        append_script(log.as_ref(), room, &room_script(ws, room, 1)).await;
    }
    let expected = expected_payloads(log.as_ref()).await;
    let of = |ws: &caucus_domain::WorkspaceId| {
        expected
            .iter()
            .filter(|p| &p.workspace_id == ws)
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
    };
    let (want_a, want_b) = (of(&a), of(&b));
    ra.wait_until(Duration::from_secs(10), |r| r.len() >= want_a.len())
        .await;
    rb.wait_until(Duration::from_secs(10), |r| r.len() >= want_b.len())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ids = |r: &Receiver| {
        r.accepted()
            .iter()
            .map(|x| x.id.clone())
            .collect::<Vec<_>>()
    };
    let (mut got_a, mut got_b) = (ids(&ra), ids(&rb));
    got_a.sort();
    got_b.sort();
    let (mut want_a, mut want_b) = (want_a, want_b);
    want_a.sort();
    want_b.sort();
    assert_eq!(got_a, want_a);
    assert_eq!(got_b, want_b);
    assert!(
        ra.accepted()
            .iter()
            .all(|r| r.body["account_id"] == a.as_str())
    );

    // Workspace B cannot read, change, replay or delete A's endpoint.
    assert!(hooks.endpoints().get(&b, &ea.id).is_none());
    assert!(hooks.deliveries(&b, &ea.id, 10, None).is_err());
    assert!(
        hooks
            .redeliver(&b, &ea.id, Selection::DeadLetters)
            .await
            .is_err()
    );
    assert!(hooks.delete(&b, &ea.id).is_err());
    // A replay through A's endpoint of the whole log still skips B's events.
    let n = hooks
        .redeliver(
            &a,
            &ea.id,
            Selection::Positions {
                from: 0,
                to: u64::MAX,
            },
        )
        .await
        .unwrap();
    assert_eq!(n, want_a.len());
    let _ = eb;
}
