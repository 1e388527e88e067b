//! The command executor: load state, decide, append with the expected revision,
//! retry on conflict.
//!
//! One task (a [`StreamActor`]) owns each stream's state on this node; callers
//! reach it through [`Executor::execute`]. The actor keeps the folded state and
//! its revision between commands, reads only the tail of the stream before each
//! decision, and appends with `Exact(revision)`. When another writer got there
//! first (`WrongExpectedRevision`), it reads the new tail and decides again; it
//! never overwrites. An actor idle for five minutes stops; the next command starts a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_domain::{Aggregate, DomainEvent};
use caucus_eventlog::{
    AppendError, AppendOutcome, Codec, EventLog, ExpectedRevision, Metadata, NewEvent, ReadError,
    StreamName,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::codec::{DecodeFailure, decode_event};

/// Why a command did not take effect. In every case nothing was appended.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The decider refused the command: a business-rule error for the caller.
    #[error(transparent)]
    Rejected(E),
    /// The stream kept changing under us; try again later.
    #[error("too many concurrent writers on {0}")]
    Contention(StreamName),
    #[error("stored event cannot be read: {0}")]
    Decode(#[from] DecodeFailure),
    #[error(transparent)]
    Append(AppendError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("invalid stream id: {0}")]
    InvalidStream(#[from] caucus_eventlog::InvalidStreamName),
    #[error("the executor is shutting down")]
    Closed,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// The events appended (empty when the command changed nothing).
    pub events: Vec<A::Event>,
    /// Where they landed; `None` when nothing was appended.
    pub outcome: Option<AppendOutcome>,
    /// The stream's state after the command.
    pub state: A::State,
}

/// An [`Aggregate`] whose parts can move between tasks: what the executor runs.
pub trait Executable:
    Aggregate<
        State: Send + Sync + 'static,
        Command: Send + 'static,
        Event: Send + Sync + 'static,
        Error: Send + Sync + 'static,
    > + Send
    + 'static
{
}

impl<A> Executable for A where
    A: Aggregate<
            State: Send + Sync + 'static,
            Command: Send + 'static,
            Event: Send + Sync + 'static,
            Error: Send + Sync + 'static,
        > + Send
        + 'static
{
}

type Reply<A> = oneshot::Sender<Result<Executed<A>, ExecuteError<<A as Aggregate>::Error>>>;

struct Job<A: Executable> {
    command: A::Command,
    metadata: Metadata,
    reply: Reply<A>,
}

/// Runs commands of one aggregate kind against the log.
pub struct Executor<A: Executable> {
    log: Arc<dyn EventLog>,
    actors: Mutex<HashMap<StreamName, mpsc::Sender<Job<A>>>>,
}

impl<A: Executable> std::fmt::Debug for Executor<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("category", &A::CATEGORY)
            .finish_non_exhaustive()
    }
}

impl<A: Executable> Executor<A> {
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self {
            log,
            actors: Mutex::new(HashMap::new()),
        }
    }

    /// The stream of the entity `id` of this aggregate kind.
    pub fn stream(id: &str) -> Result<StreamName, caucus_eventlog::InvalidStreamName> {
        StreamName::of(A::CATEGORY, id)
    }

    /// Decides `command` against the current state of entity `id` and appends the
    /// resulting events durably before returning.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: Metadata,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let stream = Self::stream(id)?;
        let (reply, rx) = oneshot::channel();
        let mut job = Job {
            command,
            metadata,
            reply,
        };
        // An idle actor may stop between lookup and send; then start a new one.
        loop {
            let sender = self.actor(&stream);
            match sender.send(job).await {
                Ok(()) => return rx.await.map_err(|_| ExecuteError::Closed)?,
                Err(mpsc::error::SendError(back)) => {
                    job = back;
                    self.forget(&stream, &sender);
                }
            }
        }
    }

    /// Reads the current state of entity `id` straight from the log.
    pub async fn load(&self, id: &str) -> Result<(A::State, Option<u64>), ExecuteError<A::Error>> {
        let stream = Self::stream(id)?;
        let mut loaded = Loaded::<A>::default();
        loaded.catch_up(self.log.as_ref(), &stream).await?;
        Ok((loaded.state, loaded.revision))
    }

    fn actor(&self, stream: &StreamName) -> mpsc::Sender<Job<A>> {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = actors.get(stream).filter(|s| !s.is_closed()) {
            return s.clone();
        }
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(run_actor::<A>(self.log.clone(), stream.clone(), rx));
        actors.insert(stream.clone(), tx.clone());
        tx
    }

    fn forget(&self, stream: &StreamName, dead: &mpsc::Sender<Job<A>>) {
        let mut actors = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if actors.get(stream).is_some_and(|s| s.same_channel(dead)) {
            actors.remove(stream);
        }
    }
}

/// A stream's folded state and the revision it reflects.
struct Loaded<A: Aggregate> {
    state: A::State,
    revision: Option<u64>,
}

impl<A: Aggregate> Default for Loaded<A> {
    fn default() -> Self {
        Self {
            state: A::State::default(),
            revision: None,
        }
    }
}

impl<A: Aggregate> Loaded<A> {
    const PAGE: usize = 4096;

    /// Folds every event after `revision` into the state.
    async fn catch_up(
        &mut self,
        log: &dyn EventLog,
        stream: &StreamName,
    ) -> Result<(), CatchUpError> {
        loop {
            let from = self.revision.map_or(0, |r| r + 1);
            let page = log.read_stream(stream, from, Self::PAGE).await?;
            let n = page.len();
            for recorded in &page {
                let event: A::Event = decode_event(recorded)?;
                A::apply(&mut self.state, &event);
                self.revision = Some(recorded.revision);
            }
            if n < Self::PAGE {
                return Ok(());
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CatchUpError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Decode(#[from] DecodeFailure),
}

impl<E: std::error::Error> From<CatchUpError> for ExecuteError<E> {
    fn from(e: CatchUpError) -> Self {
        match e {
            CatchUpError::Read(e) => ExecuteError::Read(e),
            CatchUpError::Decode(e) => ExecuteError::Decode(e),
        }
    }
}

async fn run_actor<A: Executable>(
    log: Arc<dyn EventLog>,
    stream: StreamName,
    mut rx: mpsc::Receiver<Job<A>>,
) {
    let mut loaded = Loaded::<A>::default();
    let mut fresh = false;
    loop {
        let job = match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) | Err(_) => return,
        };
        let result = handle::<A>(
            log.as_ref(),
            &stream,
            &mut loaded,
            &mut fresh,
            job.command,
            job.metadata,
        )
        .await;
        let _ = job.reply.send(result);
    }
}

async fn handle<A: Executable>(
    log: &dyn EventLog,
    stream: &StreamName,
    loaded: &mut Loaded<A>,
    fresh: &mut bool,
    command: A::Command,
    metadata: Metadata,
) -> Result<Executed<A>, ExecuteError<A::Error>> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // Another writer won the last round: back off a little, with jitter,
            // so two writers do not keep colliding in the same group commit.
            let cap_ms = (1u64 << attempt.min(6)).min(50);
            let jitter = Duration::from_micros(rand::random_range(0..cap_ms * 1000));
            tokio::time::sleep(jitter).await;
        }
        if !*fresh {
            loaded.catch_up(log, stream).await?;
        }
        *fresh = false;
        let events = A::decide(&loaded.state, &command).map_err(ExecuteError::Rejected)?;
        if events.is_empty() {
            return Ok(Executed {
                events,
                outcome: None,
                state: loaded.state.clone(),
            });
        }
        let batch: Vec<NewEvent> = events.iter().map(|e| encode_event(e, &metadata)).collect();
        let expected = loaded
            .revision
            .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        match append_retrying(log, stream, expected, batch).await {
            Ok(outcome) => {
                for e in &events {
                    A::apply(&mut loaded.state, e);
                }
                loaded.revision = Some(outcome.last_revision);
                // The state now reflects the stream up to our append; unless someone
                // else writes, the next command needs no read.
                *fresh = true;
                return Ok(Executed {
                    events,
                    outcome: Some(outcome),
                    state: loaded.state.clone(),
                });
            }
            Err(AppendError::WrongExpectedRevision { .. }) => continue,
            Err(e) => return Err(ExecuteError::Append(e)),
        }
    }
    Err(ExecuteError::Contention(stream.clone()))
}

/// How long an actor with no work keeps its state in memory.
const IDLE: Duration = Duration::from_secs(300);
/// How many times a command is re-decided after a conflicting append.
const MAX_ATTEMPTS: usize = 16;
/// How many times an append is retried when the store was briefly unavailable.
const UNAVAILABLE_RETRIES: u32 = 3;

/// Appends, retrying a few times with the same event ids when the store was
/// briefly unavailable (the ids make the retry idempotent).
async fn append_retrying(
    log: &dyn EventLog,
    stream: &StreamName,
    expected: ExpectedRevision,
    batch: Vec<NewEvent>,
) -> Result<AppendOutcome, AppendError> {
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0;
    loop {
        match log.append(stream, expected, batch.clone()).await {
            Err(AppendError::Unavailable(reason)) if attempt < UNAVAILABLE_RETRIES => {
                tracing::warn!(%stream, %reason, "append failed; retrying with the same event ids");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Wraps a domain event in the log's envelope.
pub fn encode_event<E: DomainEvent>(event: &E, metadata: &Metadata) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        codec: Codec::Bincode2,
        payload: event.encode(),
        metadata: metadata.clone(),
    }
}
