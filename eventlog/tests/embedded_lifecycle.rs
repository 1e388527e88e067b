//! The embedded store's own rules beyond the shared contract: size limits,
//! the directory lock, close, and checkpoint files.

use caucus_eventlog::embedded::EmbeddedLog;
use caucus_eventlog::{
    AppendError, Codec, EventLog, ExpectedRevision, Metadata, NewEvent, OpenError, Position,
    ReadError, StreamName,
};
use uuid::Uuid;

fn event(payload: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Json,
        payload: vec![b'x'; payload],
        metadata: Metadata::default(),
    }
}

fn stream() -> StreamName {
    StreamName::new("room-1").expect("name")
}

#[tokio::test]
async fn oversized_events_and_batches_are_invalid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("open");
    let r = log
        .append(&stream(), ExpectedRevision::Any, vec![event(2 << 20)])
        .await;
    assert!(matches!(r, Err(AppendError::Invalid(_))), "{r:?}");
    let big: Vec<NewEvent> = (0..8).map(|_| event(900 << 10)).collect();
    let r = log.append(&stream(), ExpectedRevision::Any, big).await;
    assert!(matches!(r, Err(AppendError::Invalid(_))), "{r:?}");
    let mut bad_type = event(10);
    bad_type.event_type = String::new();
    let r = log
        .append(&stream(), ExpectedRevision::Any, vec![bad_type])
        .await;
    assert!(matches!(r, Err(AppendError::Invalid(_))), "{r:?}");
    // Just under the limits is fine.
    let ok = log
        .append(&stream(), ExpectedRevision::Any, vec![event(1000 << 10)])
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(log.stream_revision(&stream()).await.expect("rev"), Some(0));
    log.close().await;
}

#[tokio::test]
async fn a_directory_opens_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("open");
    match EmbeddedLog::open(dir.path()) {
        Err(OpenError::Other(msg)) => assert!(msg.contains("in use"), "{msg}"),
        other => panic!("a second open must fail, got {other:?}"),
    }
    log.close().await;
    let again = EmbeddedLog::open(dir.path()).expect("open after close");
    again.close().await;
}

#[tokio::test]
async fn close_commits_then_refuses_appends_and_keeps_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("open");
    let mut pending = Vec::new();
    for _ in 0..50 {
        let log = log.clone();
        pending.push(tokio::spawn(async move {
            log.append(&stream(), ExpectedRevision::Any, vec![event(100)])
                .await
        }));
    }
    tokio::task::yield_now().await;
    log.close().await;
    let mut acked = 0u64;
    for p in pending {
        match p.await.expect("task") {
            Ok(_) => acked += 1,
            Err(AppendError::Closed) => {}
            Err(e) => panic!("an append racing close fails only as Closed, got {e}"),
        }
    }
    let r = log
        .append(&stream(), ExpectedRevision::Any, vec![event(1)])
        .await;
    assert!(matches!(r, Err(AppendError::Closed)), "{r:?}");
    let read = log
        .read_all(None, 1000)
        .await
        .expect("reads work after close");
    assert_eq!(
        read.len() as u64,
        acked,
        "exactly the acknowledged appends are stored"
    );
    log.close().await; // idempotent
    drop(log);
    let log = EmbeddedLog::open(dir.path()).expect("reopen");
    assert_eq!(
        log.read_all(None, 1000).await.expect("read").len() as u64,
        acked
    );
    log.close().await;
}

#[tokio::test]
async fn checkpoints_survive_reopen_and_damage_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("open");
    log.save_checkpoint("live-rooms/v1", Position(41))
        .await
        .expect("save");
    log.save_checkpoint("webhooks", Position(7))
        .await
        .expect("save");
    let r = log.save_checkpoint("", Position(1)).await;
    assert!(matches!(r, Err(AppendError::Invalid(_))), "{r:?}");
    log.close().await;
    drop(log);
    let log = EmbeddedLog::open(dir.path()).expect("reopen");
    assert_eq!(
        log.load_checkpoint("live-rooms/v1").await.expect("load"),
        Some(Position(41))
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("checkpoints"))
        .expect("checkpoint dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "one file per consumer, no temporary files left"
    );
    for f in &files {
        std::fs::write(f, b"garbage").expect("damage");
    }
    let r = log.load_checkpoint("webhooks").await;
    assert!(matches!(r, Err(ReadError::Corrupt(_))), "{r:?}");
    log.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_racing_its_first_attempt_gets_the_same_places() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("open");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = StreamName::new(format!("room-{}", i % 5)).expect("name");
        let batch = vec![event(10), event(20)];
        for _ in 0..3 {
            let (log, s, batch) = (log.clone(), s.clone(), batch.clone());
            tasks.push(tokio::spawn(async move {
                let out = log.append(&s, ExpectedRevision::Any, batch.clone()).await;
                (batch[0].event_id, out.expect("append or idempotent retry"))
            }));
        }
    }
    let mut places = std::collections::HashMap::new();
    for t in tasks {
        let (id, out) = t.await.expect("task");
        let first = *places.entry(id).or_insert(out.first_position);
        assert_eq!(
            first, out.first_position,
            "every attempt names the same place"
        );
    }
    let all = log.read_all(None, 1000).await.expect("read");
    assert_eq!(all.len(), 80, "each batch stored once");
    log.close().await;
}
