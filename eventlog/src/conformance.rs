//! The conformance suite: the [`EventLog`] contract as executable cases, shared
//! by every store.
//!
//! A store's test file implements [`StoreFactory`] and expands
//! [`conformance_tests!`](crate::conformance_tests), which makes one
//! `#[tokio::test]` per case, named after it:
//!
//! ```text
//! struct Embedded;
//! #[async_trait::async_trait]
//! impl StoreFactory for Embedded { … }
//! caucus_eventlog::conformance_tests!(Embedded);
//! ```
//!
//! The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) and the
//! `conformance` feature of this crate. Every case starts from a fresh, empty
//! store; cases fail by panicking with a message saying what broke. The append
//! cases follow EventStoreDB's `sequence_…` notation: `0em1` is event 0 appended
//! with expected revision −1 (no stream), `1e0` event 1 with `Exact(0)`, `1any`
//! with `Any`, and `S…E` one batch.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::AppendError;
use crate::log::EventLog;
use crate::subscription::{Filter, Subscription, SubscriptionMessage};
use crate::types::{
    AppendOutcome, Codec, ExpectedRevision, Metadata, NewEvent, Position, RecordedEvent, StreamName,
};

/// Makes fresh stores for the suite, and reopens them for the restart cases.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// Keeps one store's data alive (a temporary directory, a database schema)
    /// and whatever is needed to shut the store down and open it again.
    type Handle: Send;

    /// A fresh, empty store.
    async fn create(&self) -> (Arc<dyn EventLog>, Self::Handle);

    /// Shuts the store of `handle` down cleanly and opens the same data again.
    /// The suite has dropped every reference it held to the old log.
    async fn reopen(&self, handle: &mut Self::Handle) -> Arc<dyn EventLog>;
}

/// How long a case waits for something that should happen promptly.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long a case waits to be sure something does not happen.
const QUIET: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------- helpers

fn stream(name: &str) -> StreamName {
    StreamName::new(name).expect("test stream names are valid")
}

/// A distinct event with recognisable content.
pub fn new_event(event_type: &str, n: u32) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        codec: Codec::Bincode2,
        payload: format!("payload {n} {}", "x".repeat((n % 7) as usize)).into_bytes(),
        metadata: Metadata {
            actor: Some(format!("peer:{n}")),
            correlation_id: Some(Uuid::new_v4()),
            causation_id: None,
        },
    }
}

fn events(n: u32) -> Vec<NewEvent> {
    (0..n).map(|i| new_event("TestHappened", i)).collect()
}

async fn append(
    log: &Arc<dyn EventLog>,
    s: &StreamName,
    expected: ExpectedRevision,
    batch: &[NewEvent],
) -> Result<AppendOutcome, AppendError> {
    log.append(s, expected, batch.to_vec()).await
}

async fn append_ok(
    log: &Arc<dyn EventLog>,
    s: &StreamName,
    expected: ExpectedRevision,
    batch: &[NewEvent],
) -> AppendOutcome {
    match append(log, s, expected, batch).await {
        Ok(o) => o,
        Err(e) => panic!("append to {s} with {expected:?} failed: {e}"),
    }
}

async fn read_stream_all(log: &Arc<dyn EventLog>, s: &StreamName) -> Vec<RecordedEvent> {
    log.read_stream(s, 0, usize::MAX)
        .await
        .expect("read_stream")
}

async fn read_everything(log: &Arc<dyn EventLog>) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = log.read_all(after, 1000).await.expect("read_all");
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        out.extend(page);
    }
    out
}

fn assert_same(stored: &RecordedEvent, sent: &NewEvent) {
    assert!(
        sent.same_content(stored),
        "stored event {stored:?} differs from the one appended {sent:?}"
    );
}

fn assert_wrong_expected(
    r: Result<AppendOutcome, AppendError>,
    expected: ExpectedRevision,
    actual: Option<u64>,
) {
    match r {
        Err(AppendError::WrongExpectedRevision {
            expected: e,
            actual: a,
            ..
        }) => {
            assert_eq!(e, expected, "error carries the expected revision");
            assert_eq!(a, actual, "error carries the actual revision");
        }
        other => panic!("expected WrongExpectedRevision({expected:?}, {actual:?}), got {other:?}"),
    }
}

fn assert_conflict(r: Result<AppendOutcome, AppendError>) {
    assert!(
        matches!(r, Err(AppendError::IdempotencyConflict { .. })),
        "expected IdempotencyConflict, got {r:?}"
    );
}

fn assert_invalid(r: Result<AppendOutcome, AppendError>) {
    assert!(
        matches!(r, Err(AppendError::Invalid(_))),
        "expected Invalid, got {r:?}"
    );
}

/// Positions dense from 0 and each stream's revisions dense from 0, in
/// position order.
fn assert_dense(all: &[RecordedEvent]) {
    let mut next_rev: BTreeMap<&StreamName, u64> = BTreeMap::new();
    let mut ids = HashSet::new();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, Position(i as u64), "positions are dense from 0");
        let next = next_rev.entry(&e.stream).or_insert(0);
        assert_eq!(
            e.revision, *next,
            "revisions of {} are dense and in position order",
            e.stream
        );
        *next += 1;
        assert!(
            ids.insert(e.event_id),
            "event {} is stored twice",
            e.event_id
        );
    }
}

/// The setup of the `sequence_0em1_1e0_2e1_3e2_4e3_5e4_…` cases: six events
/// appended one by one with exact expected revisions.
async fn six_in_sequence(log: &Arc<dyn EventLog>, s: &StreamName) -> Vec<NewEvent> {
    let evs = events(6);
    append_ok(log, s, ExpectedRevision::NoStream, &evs[0..1]).await;
    for i in 1..6 {
        append_ok(
            log,
            s,
            ExpectedRevision::Exact(i as u64 - 1),
            &evs[i..i + 1],
        )
        .await;
    }
    evs
}

async fn next_msg(sub: &mut Subscription) -> SubscriptionMessage {
    match tokio::time::timeout(PATIENCE, sub.next()).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => panic!("subscription failed: {e}"),
        Err(_) => panic!("subscription delivered nothing within {PATIENCE:?}"),
    }
}

async fn next_event(sub: &mut Subscription) -> RecordedEvent {
    match next_msg(sub).await {
        SubscriptionMessage::Event(e) => e,
        SubscriptionMessage::CaughtUp => panic!("expected an event, got CaughtUp"),
    }
}

async fn assert_quiet(sub: &mut Subscription) {
    if let Ok(m) = tokio::time::timeout(QUIET, sub.next()).await {
        panic!("subscription delivered {m:?} where nothing more was expected");
    }
}

// ---------------------------------------------------------------- append basics

/// A batch to a new stream gets revisions 0.. and positions 0.., read back intact.
pub async fn append_to_new_stream_is_read_back<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    assert_eq!(*log.head().borrow(), None, "an empty store has no head");
    let s = stream("room-a");
    let evs = events(3);
    let out = append_ok(&log, &s, ExpectedRevision::NoStream, &evs).await;
    assert_eq!(
        out,
        AppendOutcome {
            first_revision: 0,
            last_revision: 2,
            first_position: Position(0),
            last_position: Position(2),
            already_appended: false,
        }
    );
    let read = read_stream_all(&log, &s).await;
    assert_eq!(read.len(), 3);
    for (i, (r, e)) in read.iter().zip(&evs).enumerate() {
        assert_same(r, e);
        assert_eq!(r.stream, s);
        assert_eq!(r.revision, i as u64);
        assert_eq!(r.position, Position(i as u64));
        assert!(
            r.recorded_at_us > 1_600_000_000_000_000,
            "recorded_at_us is a real time"
        );
    }
    assert_eq!(log.stream_revision(&s).await.expect("revision"), Some(2));
    assert_eq!(
        *log.head().borrow(),
        Some(Position(2)),
        "head is the last durable position"
    );
}

/// Every envelope field survives: codecs, schema versions, empty and binary
/// payloads, empty and full metadata.
pub async fn envelope_fields_round_trip<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-envelope");
    let mut a = new_event("PeerJoined", 1);
    a.codec = Codec::Json;
    a.schema_version = 7;
    a.payload = br#"{"peer":"p1"}"#.to_vec();
    a.metadata = Metadata {
        actor: Some("api:key-1".into()),
        correlation_id: Some(Uuid::new_v4()),
        causation_id: Some(Uuid::new_v4()),
    };
    let mut b = new_event("RoomCreated", 2);
    b.payload = Vec::new();
    b.metadata = Metadata::default();
    let mut c = new_event("TrackPublished", 3);
    c.payload = (0..=255u8).cycle().take(5000).collect();
    c.schema_version = u16::MAX;
    let batch = vec![a, b, c];
    append_ok(&log, &s, ExpectedRevision::Any, &batch).await;
    let read = read_stream_all(&log, &s).await;
    assert_eq!(read.len(), 3);
    for (r, e) in read.iter().zip(&batch) {
        assert_same(r, e);
    }
    let all = read_everything(&log).await;
    assert_eq!(all, read, "read_all and read_stream agree");
}

/// Revisions continue across appends; positions are global across streams.
pub async fn revisions_per_stream_positions_global<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let (a, b) = (stream("room-a"), stream("room-b"));
    let o1 = append_ok(&log, &a, ExpectedRevision::NoStream, &events(2)).await;
    let o2 = append_ok(&log, &b, ExpectedRevision::NoStream, &events(3)).await;
    let o3 = append_ok(&log, &a, ExpectedRevision::Exact(1), &events(1)).await;
    assert_eq!(
        (o1.first_position, o1.last_position),
        (Position(0), Position(1))
    );
    assert_eq!((o2.first_revision, o2.last_revision), (0, 2));
    assert_eq!(
        (o2.first_position, o2.last_position),
        (Position(2), Position(4))
    );
    assert_eq!((o3.first_revision, o3.last_revision), (2, 2));
    assert_eq!(o3.first_position, Position(5));
    assert_eq!(log.stream_revision(&a).await.expect("rev"), Some(2));
    assert_eq!(log.stream_revision(&b).await.expect("rev"), Some(2));
    assert_eq!(
        log.stream_revision(&stream("room-none"))
            .await
            .expect("rev"),
        None
    );
    let all = read_everything(&log).await;
    assert_eq!(all.len(), 6);
    assert_dense(&all);
}

/// An empty batch is refused and changes nothing.
pub async fn empty_batch_is_invalid<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    assert_invalid(append(&log, &s, ExpectedRevision::Any, &[]).await);
    assert_eq!(log.stream_revision(&s).await.expect("rev"), None);
    assert!(read_everything(&log).await.is_empty());
}

// ---------------------------------------------------------------- expected revision

/// `NoStream` on a stream with events is refused with the actual revision.
pub async fn expected_no_stream_on_existing_stream<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    append_ok(&log, &s, ExpectedRevision::NoStream, &events(2)).await;
    let r = append(&log, &s, ExpectedRevision::NoStream, &events(1)).await;
    assert_wrong_expected(r, ExpectedRevision::NoStream, Some(1));
    assert_eq!(
        read_stream_all(&log, &s).await.len(),
        2,
        "nothing was written"
    );
}

/// `StreamExists` and `Exact(n)` on a missing stream are refused; `Any` works.
pub async fn expected_revisions_on_missing_stream<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    let r = append(&log, &s, ExpectedRevision::StreamExists, &events(1)).await;
    assert_wrong_expected(r, ExpectedRevision::StreamExists, None);
    let r = append(&log, &s, ExpectedRevision::Exact(0), &events(1)).await;
    assert_wrong_expected(r, ExpectedRevision::Exact(0), None);
    assert_eq!(log.stream_revision(&s).await.expect("rev"), None);
    assert!(
        read_everything(&log).await.is_empty(),
        "refused appends write nothing"
    );
    let o = append_ok(&log, &s, ExpectedRevision::Any, &events(1)).await;
    assert_eq!((o.first_revision, o.first_position), (0, Position(0)));
}

/// `StreamExists`, `Any` and the right `Exact(n)` pass on an existing stream;
/// a stale or future `Exact` fails with the actual revision.
pub async fn expected_revisions_on_existing_stream<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    append_ok(&log, &s, ExpectedRevision::NoStream, &events(1)).await;
    append_ok(&log, &s, ExpectedRevision::StreamExists, &events(1)).await;
    append_ok(&log, &s, ExpectedRevision::Any, &events(1)).await;
    append_ok(&log, &s, ExpectedRevision::Exact(2), &events(1)).await;
    for stale in [0, 2, 4, 100] {
        let r = append(&log, &s, ExpectedRevision::Exact(stale), &events(1)).await;
        assert_wrong_expected(r, ExpectedRevision::Exact(stale), Some(3));
    }
    assert_eq!(log.stream_revision(&s).await.expect("rev"), Some(3));
    assert_dense(&read_everything(&log).await);
}

// ---------------------------------------------------------------- idempotency (ESDB matrix)

/// Re-sending event 0 with expected −1 returns its original place; still 6 events.
pub async fn sequence_0em1_1e0_2e1_3e2_4e3_5e4_0em1_idempotent<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = six_in_sequence(&log, &s).await;
    let o = append_ok(&log, &s, ExpectedRevision::NoStream, &evs[0..1]).await;
    assert!(o.already_appended);
    assert_eq!((o.first_revision, o.first_position), (0, Position(0)));
    assert_eq!(read_stream_all(&log, &s).await.len(), 6);
    assert_eq!(read_everything(&log).await.len(), 6);
}

/// Re-sending event 0 with `Any` returns its original place; still 6 events.
pub async fn sequence_0em1_1e0_2e1_3e2_4e3_5e4_0any_idempotent<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = six_in_sequence(&log, &s).await;
    let o = append_ok(&log, &s, ExpectedRevision::Any, &evs[0..1]).await;
    assert!(o.already_appended);
    assert_eq!((o.first_revision, o.last_revision), (0, 0));
    assert_eq!(read_stream_all(&log, &s).await.len(), 6);
}

/// EventStoreDB appends a duplicate here (count 7). Durable id uniqueness makes
/// it idempotent: the original place, still 6 events.
pub async fn sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e5_idempotent<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = six_in_sequence(&log, &s).await;
    let o = append_ok(&log, &s, ExpectedRevision::Exact(5), &evs[0..1]).await;
    assert!(o.already_appended);
    assert_eq!((o.first_revision, o.first_position), (0, Position(0)));
    assert_eq!(read_stream_all(&log, &s).await.len(), 6);
    assert_eq!(log.stream_revision(&s).await.expect("rev"), Some(5));
}

/// Re-sending event 0 with a future expected revision is a wrong expected revision.
pub async fn sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e6_wev<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = six_in_sequence(&log, &s).await;
    let r = append(&log, &s, ExpectedRevision::Exact(6), &evs[0..1]).await;
    assert_wrong_expected(r, ExpectedRevision::Exact(6), Some(5));
    assert_eq!(read_stream_all(&log, &s).await.len(), 6);
}

/// Re-sending event 0 with a stale expected revision is a wrong expected revision.
pub async fn sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e4_wev<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = six_in_sequence(&log, &s).await;
    let r = append(&log, &s, ExpectedRevision::Exact(4), &evs[0..1]).await;
    assert_wrong_expected(r, ExpectedRevision::Exact(4), Some(5));
    assert_eq!(read_stream_all(&log, &s).await.len(), 6);
}

/// A batch repeating one id is refused as invalid (EventStoreDB collapses it).
pub async fn sequence_0em1_1e0_2e1_1any_1any_invalid<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = events(3);
    append_ok(&log, &s, ExpectedRevision::NoStream, &evs[0..1]).await;
    append_ok(&log, &s, ExpectedRevision::Exact(0), &evs[1..2]).await;
    append_ok(&log, &s, ExpectedRevision::Exact(1), &evs[2..3]).await;
    let dup = vec![evs[1].clone(), evs[1].clone()];
    assert_invalid(append(&log, &s, ExpectedRevision::Any, &dup).await);
    let fresh = new_event("TestHappened", 9);
    let dup = vec![fresh.clone(), fresh];
    assert_invalid(append(&log, &s, ExpectedRevision::Any, &dup).await);
    assert_eq!(read_stream_all(&log, &s).await.len(), 3);
}

/// A whole batch re-sent returns the original places.
pub async fn sequence_s_0em1_1em1_e_s_0em1_1em1_e_idempotent<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    append_ok(
        &log,
        &stream("room-other"),
        ExpectedRevision::Any,
        &events(2),
    )
    .await;
    let evs = events(2);
    let first = append_ok(&log, &s, ExpectedRevision::NoStream, &evs).await;
    let again = append_ok(&log, &s, ExpectedRevision::NoStream, &evs).await;
    assert!(again.already_appended && !first.already_appended);
    assert_eq!(
        (
            again.first_revision,
            again.last_revision,
            again.first_position,
            again.last_position
        ),
        (
            first.first_revision,
            first.last_revision,
            first.first_position,
            first.last_position
        )
    );
    append_ok(&log, &s, ExpectedRevision::Exact(1), &events(1)).await;
    let later = append_ok(&log, &s, ExpectedRevision::Any, &evs).await;
    assert!(later.already_appended);
    assert_eq!(later.first_position, first.first_position);
    assert_eq!(read_everything(&log).await.len(), 5);
}

/// A batch that partly repeats an earlier batch is an idempotency conflict.
pub async fn sequence_s_0em1_1em1_e_s_0em1_1em1_2em1_e_idempotency_conflict<F: StoreFactory>(
    factory: &F,
) {
    let (log, _h) = factory.create().await;
    let s = stream("room-seq");
    let evs = events(3);
    append_ok(&log, &s, ExpectedRevision::NoStream, &evs[0..2]).await;
    assert_conflict(append(&log, &s, ExpectedRevision::NoStream, &evs).await);
    assert_conflict(append(&log, &s, ExpectedRevision::Any, &evs).await);
    let mut reversed = evs[0..2].to_vec();
    reversed.reverse();
    assert_conflict(append(&log, &s, ExpectedRevision::Any, &reversed).await);
    assert_eq!(
        read_stream_all(&log, &s).await.len(),
        2,
        "nothing was written"
    );
    assert_eq!(read_everything(&log).await.len(), 2);
}

/// The same id with other content — in the same stream or another — is a conflict.
pub async fn same_id_with_different_content_is_conflict<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    let e = new_event("PeerJoined", 1);
    append_ok(
        &log,
        &s,
        ExpectedRevision::NoStream,
        std::slice::from_ref(&e),
    )
    .await;

    let mut changed = e.clone();
    changed.payload.push(b'!');
    assert_conflict(append(&log, &s, ExpectedRevision::Any, &[changed]).await);
    let mut changed = e.clone();
    changed.event_type = "PeerLeft".into();
    assert_conflict(append(&log, &s, ExpectedRevision::Any, &[changed]).await);
    let mut changed = e.clone();
    changed.metadata.actor = None;
    assert_conflict(append(&log, &s, ExpectedRevision::Any, &[changed]).await);
    let mut changed = e.clone();
    changed.schema_version += 1;
    assert_conflict(append(&log, &s, ExpectedRevision::Exact(0), &[changed]).await);
    assert_conflict(append(&log, &stream("room-b"), ExpectedRevision::Any, &[e]).await);

    assert_eq!(read_everything(&log).await.len(), 1, "nothing was written");
    assert_eq!(
        log.stream_revision(&stream("room-b")).await.expect("rev"),
        None
    );
}

// ---------------------------------------------------------------- reads

/// `read_stream` pages by revision; an unknown stream and a revision past the
/// end read as empty.
pub async fn read_stream_pages<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let (a, b) = (stream("room-a"), stream("room-b"));
    for i in 0..10u64 {
        append_ok(&log, &a, ExpectedRevision::Any, &events(3)).await;
        if i % 3 == 0 {
            append_ok(&log, &b, ExpectedRevision::Any, &events(2)).await;
        }
    }
    let whole = read_stream_all(&log, &a).await;
    assert_eq!(whole.len(), 30);
    for page_size in [1usize, 4, 7, 30, 31] {
        let mut got = Vec::new();
        let mut from = 0u64;
        loop {
            let page = log.read_stream(&a, from, page_size).await.expect("read");
            assert!(page.len() <= page_size, "a page never exceeds max");
            let Some(last) = page.last() else { break };
            from = last.revision + 1;
            got.extend(page);
        }
        assert_eq!(got, whole, "paging by {page_size} gives the whole stream");
    }
    let mid = log.read_stream(&a, 17, 5).await.expect("read");
    assert_eq!(
        mid.iter().map(|e| e.revision).collect::<Vec<_>>(),
        vec![17, 18, 19, 20, 21]
    );
    assert!(log.read_stream(&a, 30, 10).await.expect("read").is_empty());
    assert!(
        log.read_stream(&a, u64::MAX, 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(log.read_stream(&a, 0, 0).await.expect("read").is_empty());
    assert!(
        log.read_stream(&stream("room-none"), 0, 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(whole.iter().all(|e| e.stream == a));
    assert_eq!(read_stream_all(&log, &b).await.len(), 8);
}

/// `read_all` pages by position, exclusive of `after`, in position order.
pub async fn read_all_pages<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    assert!(log.read_all(None, 10).await.expect("read").is_empty());
    for i in 0..25 {
        let s = stream(&format!("room-{}", i % 4));
        append_ok(&log, &s, ExpectedRevision::Any, &events(1 + i % 3)).await;
    }
    let all = read_everything(&log).await;
    assert_eq!(all.len(), 49);
    assert_dense(&all);
    for page_size in [1usize, 5, 48, 49, 100] {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = log.read_all(after, page_size).await.expect("read");
            assert!(page.len() <= page_size);
            let Some(last) = page.last() else { break };
            after = Some(last.position);
            got.extend(page);
        }
        assert_eq!(got, all, "paging by {page_size} gives the whole log");
    }
    let after_10 = log.read_all(Some(Position(10)), 3).await.expect("read");
    let positions: Vec<u64> = after_10.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, vec![11, 12, 13], "after is exclusive");
    assert!(
        log.read_all(Some(Position(48)), 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        log.read_all(Some(Position(u64::MAX)), 10)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(log.read_all(None, 0).await.expect("read").is_empty());
}

/// Interleaved appends: the global order agrees with every stream's order,
/// and read_all and read_stream return the same events.
pub async fn global_order_agrees_with_stream_order<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let names: Vec<StreamName> = (0..5).map(|i| stream(&format!("room-{i}"))).collect();
    for round in 0..12u32 {
        for (i, s) in names.iter().enumerate() {
            if !(round as usize + i).is_multiple_of(3) {
                append_ok(&log, s, ExpectedRevision::Any, &events(1 + round % 2)).await;
            }
        }
    }
    let all = read_everything(&log).await;
    assert_dense(&all);
    for s in &names {
        let from_all: Vec<RecordedEvent> = all.iter().filter(|e| &e.stream == s).cloned().collect();
        assert_eq!(read_stream_all(&log, s).await, from_all);
    }
}

// ---------------------------------------------------------------- checkpoints

/// Checkpoints start empty, store the last saved value, and are per consumer.
pub async fn checkpoints_are_per_consumer<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    assert_eq!(log.load_checkpoint("live-rooms").await.expect("load"), None);
    log.save_checkpoint("live-rooms", Position(5))
        .await
        .expect("save");
    log.save_checkpoint("webhooks.outbox", Position(2))
        .await
        .expect("save");
    assert_eq!(
        log.load_checkpoint("live-rooms").await.expect("load"),
        Some(Position(5))
    );
    log.save_checkpoint("live-rooms", Position(9))
        .await
        .expect("save");
    assert_eq!(
        log.load_checkpoint("live-rooms").await.expect("load"),
        Some(Position(9))
    );
    assert_eq!(
        log.load_checkpoint("webhooks.outbox").await.expect("load"),
        Some(Position(2))
    );
    assert_eq!(
        log.load_checkpoint("session-history").await.expect("load"),
        None
    );
    assert_eq!(
        log.checkpoints().await.expect("list"),
        vec![
            ("live-rooms".to_owned(), Position(9)),
            ("webhooks.outbox".to_owned(), Position(2)),
        ],
        "every checkpoint is listed once, with its last position, sorted by name"
    );
}

// ---------------------------------------------------------------- subscriptions

/// 3 events before subscribing and 3 after: exactly 6, in order, with one
/// `CaughtUp` between history and live (KurrentDB's `test_subscription`).
pub async fn subscription_hands_over_from_history_to_live<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-sub");
    let evs = events(6);
    for e in &evs[0..3] {
        append_ok(&log, &s, ExpectedRevision::Any, std::slice::from_ref(e)).await;
    }
    let mut sub = Subscription::new(log.clone(), None, Filter::All);
    for e in &evs[0..3] {
        assert_same(&next_event(&mut sub).await, e);
    }
    assert_eq!(next_msg(&mut sub).await, SubscriptionMessage::CaughtUp);
    let writer = {
        let (log, s, live) = (log.clone(), s.clone(), evs[3..6].to_vec());
        tokio::spawn(async move {
            for e in live {
                tokio::time::sleep(Duration::from_millis(20)).await;
                append_ok(&log, &s, ExpectedRevision::Any, &[e]).await;
            }
        })
    };
    for (i, e) in evs[3..6].iter().enumerate() {
        let got = next_event(&mut sub).await;
        assert_same(&got, e);
        assert_eq!(got.position, Position(3 + i as u64));
    }
    writer.await.expect("writer task");
    assert_quiet(&mut sub).await;
    assert_eq!(sub.cursor(), Some(Position(5)));
}

/// Events committed while a subscription is reading its history are delivered
/// once each, with no gap, whatever the interleaving.
pub async fn subscription_has_no_gap_or_duplicate_under_concurrent_appends<F: StoreFactory>(
    factory: &F,
) {
    let (log, _h) = factory.create().await;
    for i in 0..200u32 {
        let s = stream(&format!("room-{}", i % 7));
        append_ok(&log, &s, ExpectedRevision::Any, &events(1)).await;
    }
    let sub = Subscription::new(log.clone(), None, Filter::All).with_page_size(16);
    let reader = tokio::spawn(async move {
        let mut sub = sub;
        let mut seen = Vec::new();
        let mut caught_up = 0;
        while seen.len() < 600 {
            match next_msg(&mut sub).await {
                SubscriptionMessage::Event(e) => seen.push(e.position.0),
                SubscriptionMessage::CaughtUp => caught_up += 1,
            }
        }
        (seen, caught_up)
    });
    let mut writers = Vec::new();
    for w in 0..4u32 {
        let log = log.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..50u32 {
                let s = stream(&format!("room-w{w}-{}", i % 3));
                append_ok(&log, &s, ExpectedRevision::Any, &events(2)).await;
            }
        }));
    }
    for w in writers {
        w.await.expect("writer task");
    }
    let (seen, caught_up) = reader.await.expect("reader task");
    assert_eq!(
        seen,
        (0..600).collect::<Vec<u64>>(),
        "every position once, in order"
    );
    assert!(caught_up <= 1, "CaughtUp is sent at most once");
}

/// A subscription from a checkpoint starts after it (exclusive).
pub async fn subscription_resumes_after_checkpoint<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-a");
    let evs = events(5);
    append_ok(&log, &s, ExpectedRevision::Any, &evs).await;
    log.save_checkpoint("proj", Position(2))
        .await
        .expect("save");
    let from = log.load_checkpoint("proj").await.expect("load");
    let mut sub = Subscription::new(log.clone(), from, Filter::All);
    assert_same(&next_event(&mut sub).await, &evs[3]);
    assert_same(&next_event(&mut sub).await, &evs[4]);
    assert_eq!(next_msg(&mut sub).await, SubscriptionMessage::CaughtUp);
    assert_quiet(&mut sub).await;
}

/// Stream, category and event-type filters deliver exactly the matching events,
/// in order, on both sides of the history/live boundary.
pub async fn subscription_filters<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let (r1, r2, t1) = (stream("room-1"), stream("room-2"), stream("template-1"));
    let filters = [
        Filter::Stream(r2.clone()),
        Filter::Category("room".into()),
        Filter::EventTypes(vec!["PeerLeft".into()]),
        Filter::All,
    ];
    let wanted = |f: &Filter, s: &StreamName, e: &NewEvent| match f {
        Filter::Stream(x) => s == x,
        Filter::Category(c) => s.category() == c,
        Filter::EventTypes(t) => t.contains(&e.event_type),
        Filter::All => true,
    };
    let append_some = async |range: std::ops::Range<u32>| {
        let mut sent = Vec::new();
        for i in range {
            let s = [&r1, &r2, &t1][i as usize % 3].clone();
            let ty = if i % 2 == 0 { "PeerJoined" } else { "PeerLeft" };
            let e = new_event(ty, i);
            append_ok(&log, &s, ExpectedRevision::Any, std::slice::from_ref(&e)).await;
            sent.push((s, e));
        }
        sent
    };
    let history = append_some(0..6).await;
    let mut subs: Vec<Subscription> = filters
        .iter()
        .map(|f| Subscription::new(log.clone(), None, f.clone()).with_page_size(2))
        .collect();
    for (f, sub) in filters.iter().zip(subs.iter_mut()) {
        for (s, e) in history.iter().filter(|(s, e)| wanted(f, s, e)) {
            let got = next_event(sub).await;
            assert!(f.matches(&got), "{f:?} delivered a non-matching event");
            assert_eq!(&got.stream, s);
            assert_same(&got, e);
        }
        assert_eq!(next_msg(sub).await, SubscriptionMessage::CaughtUp, "{f:?}");
    }
    let live = append_some(6..12).await;
    for (f, sub) in filters.iter().zip(subs.iter_mut()) {
        let want: Vec<_> = live.iter().filter(|(s, e)| wanted(f, s, e)).collect();
        assert!(!want.is_empty());
        for (s, e) in want {
            let got = next_event(sub).await;
            assert!(f.matches(&got), "{f:?} delivered a non-matching event");
            assert_eq!(&got.stream, s);
            assert_same(&got, e);
        }
        assert_quiet(sub).await;
        assert_eq!(
            sub.cursor(),
            Some(Position(11)),
            "the cursor passes filtered events"
        );
    }
}

// ---------------------------------------------------------------- concurrency

/// Many tasks appending to many streams: every acknowledged event is readable
/// exactly once where its ack said, positions and revisions dense.
pub async fn concurrent_appenders_to_many_streams<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let mut tasks = Vec::new();
    for t in 0..32u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let own = stream(&format!("room-own{t}"));
            let shared = stream(&format!("room-shared{}", t % 4));
            let mut acked = Vec::new();
            for i in 0..25u32 {
                let batch = events(1 + (t + i) % 3);
                let o = if i % 2 == 0 {
                    let expected = match i {
                        0 => ExpectedRevision::NoStream,
                        _ => ExpectedRevision::Exact(acked_last_rev(&acked, &own)),
                    };
                    append_ok(&log, &own, expected, &batch).await
                } else {
                    append_ok(&log, &shared, ExpectedRevision::Any, &batch).await
                };
                let s = if i % 2 == 0 {
                    own.clone()
                } else {
                    shared.clone()
                };
                acked.push((s, batch, o));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("appender task"));
    }
    let all = read_everything(&log).await;
    assert_dense(&all);
    let total: usize = acked.iter().map(|(_, b, _)| b.len()).sum();
    assert_eq!(
        all.len(),
        total,
        "every acknowledged event, and nothing else"
    );
    for (s, batch, o) in &acked {
        assert_eq!(
            o.last_position.0 - o.first_position.0 + 1,
            batch.len() as u64
        );
        assert_eq!(o.last_revision - o.first_revision + 1, batch.len() as u64);
        for (i, e) in batch.iter().enumerate() {
            let r = &all[(o.first_position.0 + i as u64) as usize];
            assert_same(r, e);
            assert_eq!(&r.stream, s);
            assert_eq!(
                r.revision,
                o.first_revision + i as u64,
                "ack names the revision"
            );
        }
    }
}

fn acked_last_rev(acked: &[(StreamName, Vec<NewEvent>, AppendOutcome)], s: &StreamName) -> u64 {
    acked
        .iter()
        .rev()
        .find(|(x, _, _)| x == s)
        .map(|(_, _, o)| o.last_revision)
        .expect("the own stream was appended to first")
}

/// Writers racing on one stream with exact expected revisions: each append
/// either lands at the revision its writer read or fails with the actual one;
/// retrying by re-reading loses nothing.
pub async fn optimistic_concurrency_on_one_stream<F: StoreFactory>(factory: &F) {
    let (log, _h) = factory.create().await;
    let s = stream("room-contended");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (log, s) = (log.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            let mut mine = Vec::new();
            for i in 0..15u32 {
                let e = new_event("Counted", i);
                loop {
                    let current = log.stream_revision(&s).await.expect("revision");
                    let expected =
                        current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                    match log.append(&s, expected, vec![e.clone()]).await {
                        Ok(o) => {
                            assert_eq!(o.first_revision, current.map_or(0, |r| r + 1));
                            mine.push(e.event_id);
                            break;
                        }
                        Err(AppendError::WrongExpectedRevision { actual, .. }) => {
                            assert_ne!(actual, current, "a conflict reports the new revision");
                            conflicts += 1;
                        }
                        Err(e) => panic!("unexpected append error: {e}"),
                    }
                }
            }
            (mine, conflicts)
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        let (mine, _) = t.await.expect("task");
        ids.extend(mine);
    }
    let read = read_stream_all(&log, &s).await;
    assert_eq!(read.len(), 120);
    assert_eq!(read.iter().map(|e| e.event_id).collect::<HashSet<_>>(), ids);
    assert_dense(&read_everything(&log).await);
}

// ---------------------------------------------------------------- restart

/// Data, stream revisions, checkpoints and idempotency survive a reopen, and
/// appends continue densely.
pub async fn restart_keeps_data_idempotency_and_checkpoints<F: StoreFactory>(factory: &F) {
    let (log, mut handle) = factory.create().await;
    let (a, b) = (stream("room-a"), stream("room-b"));
    let batch_a = events(3);
    let batch_b = events(2);
    let oa = append_ok(&log, &a, ExpectedRevision::NoStream, &batch_a).await;
    let ob = append_ok(&log, &b, ExpectedRevision::NoStream, &batch_b).await;
    log.save_checkpoint("proj", Position(3))
        .await
        .expect("save");
    let before = read_everything(&log).await;
    drop(log);

    let log = factory.reopen(&mut handle).await;
    assert_eq!(
        read_everything(&log).await,
        before,
        "the same events after reopen"
    );
    assert_eq!(*log.head().borrow(), Some(Position(4)), "head is restored");
    assert_eq!(log.stream_revision(&a).await.expect("rev"), Some(2));
    assert_eq!(
        log.load_checkpoint("proj").await.expect("load"),
        Some(Position(3))
    );
    assert_eq!(
        log.checkpoints().await.expect("list"),
        vec![("proj".to_owned(), Position(3))]
    );

    let again = append_ok(&log, &a, ExpectedRevision::NoStream, &batch_a).await;
    assert!(again.already_appended);
    assert_eq!(again.first_position, oa.first_position);
    let again = append_ok(&log, &b, ExpectedRevision::Any, &batch_b).await;
    assert_eq!(again.first_position, ob.first_position);
    let mut changed = batch_a[1].clone();
    changed.payload = b"other".to_vec();
    assert_conflict(append(&log, &a, ExpectedRevision::Any, &[changed]).await);
    let r = append(&log, &a, ExpectedRevision::Exact(1), &events(1)).await;
    assert_wrong_expected(r, ExpectedRevision::Exact(1), Some(2));

    let next = append_ok(&log, &a, ExpectedRevision::Exact(2), &events(2)).await;
    assert_eq!((next.first_revision, next.first_position), (3, Position(5)));
    log.save_checkpoint("proj", Position(6))
        .await
        .expect("save");
    let before = read_everything(&log).await;
    drop(log);

    let log = factory.reopen(&mut handle).await;
    let after = read_everything(&log).await;
    assert_eq!(after, before);
    assert_dense(&after);
    assert_eq!(
        log.load_checkpoint("proj").await.expect("load"),
        Some(Position(6))
    );
}

// ---------------------------------------------------------------- the whole suite

/// Names of every case, in the order [`run_all`] runs them.
pub const CASES: &[&str] = &[
    "append_to_new_stream_is_read_back",
    "envelope_fields_round_trip",
    "revisions_per_stream_positions_global",
    "empty_batch_is_invalid",
    "expected_no_stream_on_existing_stream",
    "expected_revisions_on_missing_stream",
    "expected_revisions_on_existing_stream",
    "sequence_0em1_1e0_2e1_3e2_4e3_5e4_0em1_idempotent",
    "sequence_0em1_1e0_2e1_3e2_4e3_5e4_0any_idempotent",
    "sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e5_idempotent",
    "sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e6_wev",
    "sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e4_wev",
    "sequence_0em1_1e0_2e1_1any_1any_invalid",
    "sequence_s_0em1_1em1_e_s_0em1_1em1_e_idempotent",
    "sequence_s_0em1_1em1_e_s_0em1_1em1_2em1_e_idempotency_conflict",
    "same_id_with_different_content_is_conflict",
    "read_stream_pages",
    "read_all_pages",
    "global_order_agrees_with_stream_order",
    "checkpoints_are_per_consumer",
    "subscription_hands_over_from_history_to_live",
    "subscription_has_no_gap_or_duplicate_under_concurrent_appends",
    "subscription_resumes_after_checkpoint",
    "subscription_filters",
    "concurrent_appenders_to_many_streams",
    "optimistic_concurrency_on_one_stream",
    "restart_keeps_data_idempotency_and_checkpoints",
];

/// Runs every case in turn (prefer [`conformance_tests!`](crate::conformance_tests),
/// which names failures).
pub async fn run_all<F: StoreFactory>(factory: &F) {
    append_to_new_stream_is_read_back(factory).await;
    envelope_fields_round_trip(factory).await;
    revisions_per_stream_positions_global(factory).await;
    empty_batch_is_invalid(factory).await;
    expected_no_stream_on_existing_stream(factory).await;
    expected_revisions_on_missing_stream(factory).await;
    expected_revisions_on_existing_stream(factory).await;
    sequence_0em1_1e0_2e1_3e2_4e3_5e4_0em1_idempotent(factory).await;
    sequence_0em1_1e0_2e1_3e2_4e3_5e4_0any_idempotent(factory).await;
    sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e5_idempotent(factory).await;
    sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e6_wev(factory).await;
    sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e4_wev(factory).await;
    sequence_0em1_1e0_2e1_1any_1any_invalid(factory).await;
    sequence_s_0em1_1em1_e_s_0em1_1em1_e_idempotent(factory).await;
    sequence_s_0em1_1em1_e_s_0em1_1em1_2em1_e_idempotency_conflict(factory).await;
    same_id_with_different_content_is_conflict(factory).await;
    read_stream_pages(factory).await;
    read_all_pages(factory).await;
    global_order_agrees_with_stream_order(factory).await;
    checkpoints_are_per_consumer(factory).await;
    subscription_hands_over_from_history_to_live(factory).await;
    subscription_has_no_gap_or_duplicate_under_concurrent_appends(factory).await;
    subscription_resumes_after_checkpoint(factory).await;
    subscription_filters(factory).await;
    concurrent_appenders_to_many_streams(factory).await;
    optimistic_concurrency_on_one_stream(factory).await;
    restart_keeps_data_idempotency_and_checkpoints(factory).await;
}

/// Expands to one `#[tokio::test]` per conformance case, each building its
/// factory with `$factory` (an expression, evaluated per test).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            append_to_new_stream_is_read_back,
            envelope_fields_round_trip,
            revisions_per_stream_positions_global,
            empty_batch_is_invalid,
            expected_no_stream_on_existing_stream,
            expected_revisions_on_missing_stream,
            expected_revisions_on_existing_stream,
            sequence_0em1_1e0_2e1_3e2_4e3_5e4_0em1_idempotent,
            sequence_0em1_1e0_2e1_3e2_4e3_5e4_0any_idempotent,
            sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e5_idempotent,
            sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e6_wev,
            sequence_0em1_1e0_2e1_3e2_4e3_5e4_0e4_wev,
            sequence_0em1_1e0_2e1_1any_1any_invalid,
            sequence_s_0em1_1em1_e_s_0em1_1em1_e_idempotent,
            sequence_s_0em1_1em1_e_s_0em1_1em1_2em1_e_idempotency_conflict,
            same_id_with_different_content_is_conflict,
            read_stream_pages,
            read_all_pages,
            global_order_agrees_with_stream_order,
            checkpoints_are_per_consumer,
            subscription_hands_over_from_history_to_live,
            subscription_has_no_gap_or_duplicate_under_concurrent_appends,
            subscription_resumes_after_checkpoint,
            subscription_filters,
            concurrent_appenders_to_many_streams,
            optimistic_concurrency_on_one_stream,
            restart_keeps_data_idempotency_and_checkpoints
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let factory = $factory;
                $crate::conformance::$case(&factory).await;
            }
        )*
    };
}
