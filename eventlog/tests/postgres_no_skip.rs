//! No skipped, duplicated or reordered event under concurrency (target P4):
//! 32 writers inject random 0–500 ms delays before COMMIT and roll back at
//! random, while subscribers on several nodes run. Every subscriber sees
//! every committed event exactly once, in position order, with no gap.
//!
//! Half the writers go through two `PostgresLog` nodes (their group commits
//! delayed by the pre-commit hook); the other half hold raw transactions on
//! their own connections, running the same append protocol, so 32
//! transactions really are in flight at once.

#![cfg(feature = "postgres")]

mod pg;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use caucus_eventlog::postgres::{AppendStatements, PostgresLog, PreCommitHook, begin_append};
use caucus_eventlog::{
    AppendError, EventLog, ExpectedRevision, Filter, NewEvent, StreamName, Subscription,
    SubscriptionMessage,
};
use uuid::Uuid;

const NODE_WRITERS: usize = 16;
const RAW_WRITERS: usize = 16;
const APPENDS_PER_WRITER: usize = 3;
const ROLLBACK_CHANCE: f64 = 0.2;
const MAX_DELAY_MS: u64 = 500;

fn delay() -> Duration {
    Duration::from_millis(rand::random_range(0..=MAX_DELAY_MS))
}

fn batch(writer: usize, n: usize) -> Vec<NewEvent> {
    let len = rand::random_range(1..=3);
    (0..len)
        .map(|i| pg::event((writer * 1000 + n * 10 + i) as u64))
        .collect()
}

fn chaos_hook() -> PreCommitHook {
    Arc::new(|| {
        Box::pin(async move {
            tokio::time::sleep(delay()).await;
            !rand::random_bool(ROLLBACK_CHANCE)
        })
    })
}

/// Appends through a node; returns the ids that committed.
async fn node_writer(log: Arc<PostgresLog>, writer: usize) -> Vec<Uuid> {
    let stream = StreamName::new(format!("room-node{writer}")).unwrap();
    let mut committed = Vec::new();
    for n in 0..APPENDS_PER_WRITER {
        let events = batch(writer, n);
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        match log.append(&stream, ExpectedRevision::Any, events).await {
            Ok(o) => {
                assert!(!o.already_appended);
                committed.extend(ids);
            }
            Err(AppendError::Unavailable(_)) => {} // rolled back by the hook
            Err(e) => panic!("writer {writer}: {e}"),
        }
    }
    committed
}

/// Appends in raw transactions held open for a random time; returns the ids
/// that committed.
async fn raw_writer(db: Arc<pg::ScratchDb>, writer: usize) -> Vec<Uuid> {
    let client = db.client().await;
    let st = AppendStatements::prepare(&client).await.unwrap();
    let stream = StreamName::new(format!("room-raw{writer}")).unwrap();
    let mut committed = Vec::new();
    for n in 0..APPENDS_PER_WRITER {
        let events = batch(writer, n);
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let outcome = begin_append(&client, &st, stream.clone(), ExpectedRevision::Any, events)
            .await
            .unwrap();
        outcome.unwrap_or_else(|e| panic!("raw writer {writer}: {e}"));
        tokio::time::sleep(delay()).await;
        if rand::random_bool(ROLLBACK_CHANCE) {
            client.batch_execute("ROLLBACK").await.unwrap();
        } else {
            client.batch_execute("COMMIT").await.unwrap();
            committed.extend(ids);
        }
    }
    committed
}

/// Collects events until `stop` says how many to expect and that many arrived.
async fn subscriber(
    log: Arc<PostgresLog>,
    page: usize,
    mut expect: tokio::sync::watch::Receiver<Option<usize>>,
) -> Vec<(u64, Uuid)> {
    let mut sub = Subscription::new(log, None, Filter::All).with_page_size(page);
    let mut seen = Vec::new();
    loop {
        if let Some(n) = *expect.borrow_and_update()
            && seen.len() >= n
        {
            return seen;
        }
        tokio::select! {
            msg = sub.next() => match msg.unwrap() {
                SubscriptionMessage::Event(e) => seen.push((e.position.0, e.event_id)),
                SubscriptionMessage::CaughtUp => {}
            },
            _ = expect.changed() => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_subscriber_skips_under_delayed_commits_and_rollbacks() {
    let db = Arc::new(pg::ScratchDb::create().await);
    let nodes = [db.open().await, db.open().await];
    let reader = db.open().await;
    for node in &nodes {
        node.set_pre_commit_hook(Some(chaos_hook()));
    }

    let (expect_tx, expect_rx) = tokio::sync::watch::channel(None);
    let mut subscribers = Vec::new();
    for (log, page) in [
        (reader.clone(), 1),
        (reader.clone(), 7),
        (nodes[0].clone(), 1024),
        (nodes[1].clone(), 3),
    ] {
        subscribers.push(tokio::spawn(subscriber(log, page, expect_rx.clone())));
    }

    let mut writers = Vec::new();
    for w in 0..NODE_WRITERS {
        writers.push(tokio::spawn(node_writer(nodes[w % 2].clone(), w)));
    }
    for w in 0..RAW_WRITERS {
        writers.push(tokio::spawn(raw_writer(db.clone(), w)));
    }
    let mut committed = HashSet::new();
    for w in writers {
        for id in w.await.unwrap() {
            assert!(committed.insert(id));
        }
    }
    assert!(!committed.is_empty());
    expect_tx.send(Some(committed.len())).unwrap();

    let stored = reader.read_all(None, usize::MAX).await.unwrap();
    assert_eq!(
        stored.len(),
        committed.len(),
        "the log holds exactly the committed events"
    );

    for (i, s) in subscribers.into_iter().enumerate() {
        let seen = tokio::time::timeout(Duration::from_secs(30), s)
            .await
            .unwrap_or_else(|_| panic!("subscriber {i} did not see every committed event"))
            .unwrap();
        let positions: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
        let dense: Vec<u64> = (0..committed.len() as u64).collect();
        assert_eq!(
            positions, dense,
            "subscriber {i}: positions in order, no gap, no repeat"
        );
        let ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            ids, committed,
            "subscriber {i}: exactly the committed events"
        );
    }
}
