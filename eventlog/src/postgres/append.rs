//! The append protocol, run inside one open transaction for a group of appends.
//!
//! 1. `BEGIN`, lock the group's streams in name order and read their revisions,
//!    and load what is stored under the group's event ids: one round trip.
//! 2. Decide each append in arrival order with the shared [`rules`](crate::rules)
//!    (expected revision, idempotency); a refused append writes nothing and does
//!    not disturb the others.
//! 3. One statement takes the head row, inserts every accepted event at
//!    consecutive positions, moves the stream revisions and queues the NOTIFY.
//!
//! The caller then commits or rolls back. An append whose event ids repeat ids
//! accepted earlier in the same group is deferred to the next group, so it sees
//! them as stored.

use std::collections::{HashMap, HashSet};

use tokio::sync::oneshot;
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::sql;
use crate::error::AppendError;
use crate::rules::{self, Plan};
use crate::types::{AppendOutcome, ExpectedRevision, NewEvent, Position, StreamName};

/// One append waiting in a group.
#[derive(Debug)]
pub(crate) struct Request {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
}

/// The prepared statements of the protocol, per connection.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct AppendStatements {
    lock_streams: Statement,
    load_ids: Statement,
    commit_group: Statement,
}

impl AppendStatements {
    /// Prepares the statements on a plain connection.
    pub async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            lock_streams: client.prepare(sql::LOCK_STREAMS).await?,
            load_ids: client.prepare(&sql::load_ids()).await?,
            commit_group: client.prepare(sql::COMMIT_GROUP).await?,
        })
    }

    /// Prepares (or reuses) the statements on a pooled connection.
    pub(crate) async fn cached(
        client: &deadpool_postgres::ClientWrapper,
    ) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            lock_streams: client.prepare_cached(sql::LOCK_STREAMS).await?,
            load_ids: client.prepare_cached(&sql::load_ids()).await?,
            commit_group: client.prepare_cached(sql::COMMIT_GROUP).await?,
        })
    }
}

/// What became of each request of a group, in request order.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Written in this transaction: valid once it commits.
    Written(AppendOutcome),
    /// Nothing to write: the answer holds whether or not the transaction commits.
    Answered(Result<AppendOutcome, AppendError>),
    /// Repeats ids written earlier in this group: run it in the next group.
    Deferred,
}

/// The group's decisions and the last position it wrote.
#[derive(Debug)]
pub(crate) struct GroupResult {
    pub decisions: Vec<Decision>,
    pub last_position: Option<Position>,
    /// `Some` when `COMMIT` was already sent (see [`begin_group`]'s
    /// `commit`), with its result; `None` while the transaction is open.
    pub committed: Option<Result<(), tokio_postgres::Error>>,
}

/// Column vectors of the events a group writes.
#[derive(Default)]
struct Batch {
    streams: Vec<String>,
    revisions: Vec<i64>,
    ids: Vec<Uuid>,
    types: Vec<String>,
    versions: Vec<i32>,
    codecs: Vec<i16>,
    data: Vec<Vec<u8>>,
    actors: Vec<Option<String>>,
    correlations: Vec<Option<Uuid>>,
    causations: Vec<Option<Uuid>>,
}

impl Batch {
    fn push(&mut self, stream: &StreamName, revision: u64, e: &NewEvent) {
        self.streams.push(stream.as_str().to_owned());
        self.revisions.push(revision as i64);
        self.ids.push(e.event_id);
        self.types.push(e.event_type.clone());
        self.versions.push(i32::from(e.schema_version));
        self.codecs.push(e.codec as i16);
        self.data.push(e.payload.clone());
        self.actors.push(e.metadata.actor.clone());
        self.correlations.push(e.metadata.correlation_id);
        self.causations.push(e.metadata.causation_id);
    }
}

/// Sends `BEGIN` and runs the protocol for `requests`; fires `reached_commit`
/// as it sends the statement that takes the head row. With `commit`, a group
/// that writes sends `COMMIT` right behind its last statement (pipelined, one
/// round trip less); otherwise the transaction is left open. On `Err` the
/// transaction is aborted (or the connection gone): roll back.
pub(crate) async fn begin_group(
    client: &Client,
    st: &AppendStatements,
    requests: &[&Request],
    commit: bool,
    reached_commit: &mut Option<oneshot::Sender<()>>,
) -> Result<GroupResult, tokio_postgres::Error> {
    let mut names: Vec<&str> = requests.iter().map(|r| r.stream.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let categories: Vec<&str> = names
        .iter()
        .map(|n| n.split('-').next().unwrap_or(n))
        .collect();
    let ids: Vec<Uuid> = requests
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.event_id))
        .collect();

    // One round trip: the three are pipelined on the connection.
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&names, &categories];
    let ids_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&ids];
    let (begin, locked, stored) = futures::join!(
        client.batch_execute("BEGIN"),
        client.query(&st.lock_streams, &lock_params),
        client.query(&st.load_ids, &ids_params),
    );
    begin?;
    let mut current: HashMap<String, Option<u64>> = HashMap::with_capacity(names.len());
    for row in locked? {
        let revision: i64 = row.get(1);
        current.insert(row.get(0), u64::try_from(revision).ok());
    }
    let mut stored_by_id = HashMap::new();
    for row in stored? {
        match sql::decode(&row) {
            Ok(e) => {
                stored_by_id.insert(e.event_id, e);
            }
            // A stored row that does not decode cannot match any new event:
            // treat the id as taken with other content.
            Err(_) => {
                let id: Uuid = row.get(0);
                stored_by_id.insert(id, unreadable(id));
            }
        }
    }

    let mut batch = Batch::default();
    let mut written_ids: HashSet<Uuid> = HashSet::new();
    let mut moved: HashMap<&str, i64> = HashMap::new();
    let mut offsets: Vec<Option<(usize, u64)>> = Vec::with_capacity(requests.len());
    let mut decisions = Vec::with_capacity(requests.len());
    for r in requests {
        offsets.push(None);
        if r.events.iter().any(|e| written_ids.contains(&e.event_id)) {
            decisions.push(Decision::Deferred);
            continue;
        }
        let cur = current.get(r.stream.as_str()).copied().flatten();
        let seen: Vec<_> = r
            .events
            .iter()
            .map(|e| stored_by_id.get(&e.event_id).cloned())
            .collect();
        match rules::plan_append(&r.stream, r.expected, cur, &r.events, &seen) {
            Ok(Plan::Append { first_revision }) => {
                let offset = batch.ids.len();
                for (i, e) in r.events.iter().enumerate() {
                    batch.push(&r.stream, first_revision + i as u64, e);
                    written_ids.insert(e.event_id);
                }
                let last = first_revision + r.events.len() as u64 - 1;
                current.insert(r.stream.as_str().to_owned(), Some(last));
                moved.insert(r.stream.as_str(), last as i64);
                if let Some(o) = offsets.last_mut() {
                    *o = Some((offset, first_revision));
                }
                // Filled in once the positions are known.
                decisions.push(Decision::Deferred);
            }
            Ok(Plan::AlreadyAppended(outcome)) => decisions.push(Decision::Answered(Ok(outcome))),
            Err(e) => decisions.push(Decision::Answered(Err(e))),
        }
    }
    if batch.ids.is_empty() {
        return Ok(GroupResult {
            decisions,
            last_position: None,
            committed: None,
        });
    }

    let n = batch.ids.len() as i64;
    let (moved_names, moved_revs): (Vec<&str>, Vec<i64>) = moved.into_iter().unzip();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 13] = [
        &n,
        &batch.streams,
        &batch.revisions,
        &batch.ids,
        &batch.types,
        &batch.versions,
        &batch.codecs,
        &batch.data,
        &batch.actors,
        &batch.correlations,
        &batch.causations,
        &moved_names,
        &moved_revs,
    ];
    if let Some(signal) = reached_commit.take() {
        let _ = signal.send(());
    }
    let insert = client.query_one(&st.commit_group, &params);
    let (row, committed) = if commit {
        // If the insert fails the server turns this COMMIT into a rollback.
        let (row, done) = futures::join!(insert, client.batch_execute("COMMIT"));
        (row?, Some(done))
    } else {
        (insert.await?, None)
    };
    let base: i64 = row.get(0);
    let base = base as u64;
    for ((d, off), r) in decisions.iter_mut().zip(&offsets).zip(requests) {
        if let Some((offset, first_revision)) = *off {
            let len = r.events.len() as u64;
            *d = Decision::Written(AppendOutcome {
                first_revision,
                last_revision: first_revision + len - 1,
                first_position: Position(base + offset as u64),
                last_position: Position(base + offset as u64 + len - 1),
                already_appended: false,
            });
        }
    }
    Ok(GroupResult {
        decisions,
        last_position: Some(Position(base + n as u64 - 1)),
        committed,
    })
}

/// Runs one append in a new transaction on `client` and leaves it open: the
/// caller sends `COMMIT` or `ROLLBACK`. The same protocol as the store's writer,
/// for tests that hold transactions open across other work.
#[doc(hidden)]
pub async fn begin_append(
    client: &Client,
    st: &AppendStatements,
    stream: StreamName,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
) -> Result<Result<AppendOutcome, AppendError>, tokio_postgres::Error> {
    if let Err(e) = rules::validate_batch(&events, &rules::Limits::default()) {
        client.batch_execute("BEGIN").await?;
        return Ok(Err(e));
    }
    let req = Request {
        stream,
        expected,
        events,
    };
    let mut group = begin_group(client, st, &[&req], false, &mut None).await?;
    Ok(match group.decisions.pop() {
        Some(Decision::Written(o)) => Ok(o),
        Some(Decision::Answered(r)) => r,
        _ => Err(AppendError::Invalid("append was not decided".into())),
    })
}

/// Stands for a stored row that failed to decode: it matches no new event.
fn unreadable(id: Uuid) -> crate::types::RecordedEvent {
    crate::types::RecordedEvent {
        event_id: id,
        stream: StreamName::new("unreadable").unwrap_or_else(|_| unreachable!()),
        revision: u64::MAX,
        position: Position(u64::MAX),
        event_type: String::new(),
        schema_version: 0,
        codec: crate::types::Codec::Bincode2,
        payload: Vec::new(),
        metadata: Default::default(),
        recorded_at_us: 0,
    }
}
