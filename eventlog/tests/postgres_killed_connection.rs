//! A connection killed while its append transaction is open (after the rows
//! are inserted, before COMMIT) leaves no trace of the batch, the append
//! answers `Unavailable`, and retrying with the same event ids appends it once.

#![cfg(feature = "postgres")]

mod pg;

use std::sync::Arc;
use std::time::Duration;

use caucus_eventlog::postgres::PreCommitHook;
use caucus_eventlog::{AppendError, EventLog, ExpectedRevision, Position, StreamName};
use tokio::sync::Notify;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connection_leaves_no_partial_batch_and_retry_is_idempotent() {
    let db = pg::ScratchDb::create().await;
    let log = db.open().await;
    let stream = StreamName::new("room-killed").unwrap();
    let before = log
        .append(&stream, ExpectedRevision::NoStream, vec![pg::event(0)])
        .await
        .unwrap();
    assert_eq!(before.last_position, Position(0));

    // Hold the next transaction open before COMMIT until it is killed.
    let in_tx = Arc::new(Notify::new());
    let signal = in_tx.clone();
    let hook: PreCommitHook = Arc::new(move || {
        let signal = signal.clone();
        Box::pin(async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_secs(3)).await;
            true
        })
    });
    log.set_pre_commit_hook(Some(hook));

    let batch: Vec<_> = (1..=10).map(pg::event).collect();
    let appending = {
        let (log, stream, batch) = (log.clone(), stream.clone(), batch.clone());
        tokio::spawn(async move { log.append(&stream, ExpectedRevision::Exact(0), batch).await })
    };
    in_tx.notified().await;
    let admin = db.client().await;
    let killed: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND state = 'idle in transaction') k",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 1, "exactly the append transaction is open");

    let result = appending.await.unwrap();
    assert!(
        matches!(result, Err(AppendError::Unavailable(_))),
        "{result:?}"
    );
    log.set_pre_commit_hook(None);

    // Nothing of the batch is visible, and the head did not move.
    let all = log.read_all(None, 100).await.unwrap();
    assert_eq!(all.len(), 1, "only the first event is stored: {all:?}");
    assert_eq!(log.stream_revision(&stream).await.unwrap(), Some(0));
    let next: i64 = admin
        .query_one("SELECT next_position FROM log_partitions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(next, 1);

    // The retry appends the batch once; a second retry is recognised.
    let first = log
        .append(&stream, ExpectedRevision::Exact(0), batch.clone())
        .await
        .expect("the retry appends on a fresh connection");
    assert!(!first.already_appended);
    assert_eq!((first.first_revision, first.last_revision), (1, 10));
    assert_eq!(
        (first.first_position, first.last_position),
        (Position(1), Position(10))
    );
    let again = log
        .append(&stream, ExpectedRevision::Exact(0), batch.clone())
        .await
        .unwrap();
    assert!(again.already_appended);
    assert_eq!(
        (again.first_position, again.last_position),
        (first.first_position, first.last_position)
    );
    let all = log.read_all(None, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (0..=10).collect::<Vec<_>>());
    let ids: Vec<_> = all[1..].iter().map(|e| e.event_id).collect();
    assert_eq!(ids, batch.iter().map(|e| e.event_id).collect::<Vec<_>>());
}
