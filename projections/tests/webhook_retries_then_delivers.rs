//! A receiver that fails N times then succeeds gets every webhook after N
//! retries, with the same id (and body) on every attempt.

mod webhook_support;

use std::time::Duration;

use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::Webhooks;
use webhook_support::*;

#[tokio::test]
async fn a_receiver_failing_n_times_gets_each_webhook_after_n_retries() {
    const N: u32 = 3;
    let log = MemoryLog::new();
    let receiver = Receiver::start(Mode::FailFirst(N)).await;
    let hooks = Webhooks::start(log.clone(), None, fast_config(Duration::from_secs(30)))
        .await
        .unwrap();
    let ws = workspace(1);
    let mut with_header = spec(&receiver.url);
    with_header.headers = Some([("X-Shared-Secret".to_owned(), "s3cret value".to_owned())].into());
    let (endpoint, _) = hooks.create(&ws, with_header).await.unwrap();
    for room in 0..3 {
        append_script(log.as_ref(), room, &room_script(&ws, room, 2)).await;
    }
    let expected = expected_payloads(log.as_ref()).await;
    assert_eq!(expected.len(), 3 * 6);
    receiver
        .wait_until(Duration::from_secs(20), |a| a.len() >= expected.len())
        .await;

    let received = receiver.received();
    for p in &expected {
        let tries: Vec<_> = received
            .iter()
            .filter(|r| r.id == p.id.to_string())
            .collect();
        assert_eq!(tries.len(), N as usize + 1, "{} attempts", p.webhook_type);
        assert!(tries[..N as usize].iter().all(|r| r.status == 500));
        assert_eq!(tries[N as usize].status, 200);
        assert!(
            tries.iter().all(|r| r.raw == p.body),
            "same body on every attempt"
        );
        assert!(
            tries
                .iter()
                .all(|r| r.headers.get("x-shared-secret").unwrap() == "s3cret value"),
            "custom headers are sent as-is"
        );
    }
    let log_of_attempts = hooks.deliveries(&ws, &endpoint.id, 1000, None).unwrap();
    assert_eq!(log_of_attempts.len(), expected.len() * (N as usize + 1));
    assert_eq!(
        log_of_attempts.iter().filter(|a| a.success).count(),
        expected.len()
    );
    assert!(hooks.dead_letters(&ws, &endpoint.id).unwrap().is_empty());
}
