//! Group commit keeps each append's own answer: appends queued together run in
//! one transaction in arrival order, a wrong expected revision refuses only its
//! own append, a repeated batch in the same group is answered as already
//! appended, and a racing node's event id fails only the append that reuses it.

#![cfg(feature = "postgres")]

mod pg;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use caucus_eventlog::postgres::{AppendStatements, PreCommitHook, begin_append};
use caucus_eventlog::{AppendError, EventLog, ExpectedRevision, Position, StreamName};
use tokio::sync::Semaphore;

fn stream(name: &str) -> StreamName {
    StreamName::new(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_queued_together_keep_their_own_answers() {
    let db = pg::ScratchDb::create().await;
    let log = db.open().await;

    // The first groups wait at COMMIT until released, so what is appended
    // meanwhile queues up and goes as one group.
    let gate = Arc::new(Semaphore::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let hook: PreCommitHook = {
        let (gate, calls) = (gate.clone(), calls.clone());
        Arc::new(move || {
            let (gate, n) = (gate.clone(), calls.fetch_add(1, Ordering::SeqCst));
            Box::pin(async move {
                if n < 2 {
                    gate.acquire().await.unwrap().forget();
                }
                true
            })
        })
    };
    log.set_pre_commit_hook(Some(hook));
    let mut blockers = Vec::new();
    for i in 0..2 {
        let log = log.clone();
        blockers.push(tokio::spawn(async move {
            log.append(
                &stream(&format!("room-blocker{i}")),
                ExpectedRevision::NoStream,
                vec![pg::event(i)],
            )
            .await
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let d_events = vec![pg::event(40), pg::event(41)];
    let cases = [
        (
            stream("room-a"),
            ExpectedRevision::NoStream,
            vec![pg::event(10)],
        ),
        (
            stream("room-a"),
            ExpectedRevision::Exact(0),
            vec![pg::event(11)],
        ),
        (
            stream("room-c"),
            ExpectedRevision::Exact(5),
            vec![pg::event(30)],
        ),
        (
            stream("room-d"),
            ExpectedRevision::NoStream,
            d_events.clone(),
        ),
        (
            stream("room-d"),
            ExpectedRevision::NoStream,
            d_events.clone(),
        ),
    ];
    let mut pending = Vec::new();
    for (s, expected, events) in cases {
        let log = log.clone();
        pending.push(tokio::spawn(async move {
            log.append(&s, expected, events).await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.add_permits(2);
    for b in blockers {
        b.await.unwrap().unwrap();
    }
    let mut results = Vec::new();
    for p in pending {
        results.push(p.await.unwrap());
    }
    assert!(
        calls.load(Ordering::SeqCst) <= 4,
        "the five appends ran in few groups"
    );

    let a = results[0].as_ref().unwrap();
    let b = results[1].as_ref().unwrap();
    assert_eq!(
        (a.first_revision, b.first_revision),
        (0, 1),
        "arrival order on one stream"
    );
    assert_eq!(b.first_position.0, a.first_position.0 + 1);
    assert!(
        matches!(
            &results[2],
            Err(AppendError::WrongExpectedRevision { actual: None, .. })
        ),
        "{:?}",
        results[2]
    );
    let d = results[3].as_ref().unwrap();
    let again = results[4].as_ref().unwrap();
    assert!(!d.already_appended);
    assert!(again.already_appended);
    assert_eq!(
        (again.first_position, again.last_position),
        (d.first_position, d.last_position)
    );

    let all = log.read_all(None, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(
        positions,
        (0..6).collect::<Vec<_>>(),
        "2 blockers + a, b, and d's two events"
    );
    assert_eq!(log.stream_revision(&stream("room-c")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_racing_event_id_fails_only_the_append_that_reuses_it() {
    let db = pg::ScratchDb::create().await;
    let log = db.open().await;
    let raced = pg::event(1);

    // Another node holds `raced` in an open transaction on another stream.
    let other = db.client().await;
    let st = AppendStatements::prepare(&other).await.unwrap();
    let held = begin_append(
        &other,
        &st,
        stream("room-other"),
        ExpectedRevision::Any,
        vec![raced.clone()],
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(held.first_position, Position(0));

    // Our node's group: one append reusing the id, one innocent append. It
    // waits on the other transaction (the head row and the unique index).
    let reuse = {
        let (log, e) = (log.clone(), raced.clone());
        tokio::spawn(async move {
            log.append(&stream("room-mine"), ExpectedRevision::Any, vec![e])
                .await
        })
    };
    let innocent = {
        let log = log.clone();
        tokio::spawn(async move {
            log.append(
                &stream("room-innocent"),
                ExpectedRevision::Any,
                vec![pg::event(2)],
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    other.batch_execute("COMMIT").await.unwrap();

    let reuse = reuse.await.unwrap();
    assert!(
        matches!(&reuse, Err(AppendError::IdempotencyConflict { event_id, .. }) if *event_id == raced.event_id),
        "{reuse:?}"
    );
    let innocent = innocent
        .await
        .unwrap()
        .expect("the other append of the group commits");
    assert_eq!(innocent.first_position, Position(1));
    let all = log.read_all(None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].stream, stream("room-other"));
    assert_eq!(
        log.stream_revision(&stream("room-mine")).await.unwrap(),
        None
    );
}
