//! The [`EventLog`] trait: the contract every store implements.

use async_trait::async_trait;
use tokio::sync::watch;

use crate::error::{AppendError, ReadError};
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

/// A durable, append-only log of streams of events.
///
/// Contract (the [`conformance`](crate::conformance) suite checks it for every store):
/// - `append` is atomic and durable before it returns `Ok`: fdatasync (embedded)
///   or commit (PostgreSQL).
/// - Per-stream revisions are dense from 0; `expected` is checked against the
///   stream's last revision; a mismatch is [`AppendError::WrongExpectedRevision`].
/// - Appends are idempotent by event id, across restarts: a batch whose ids were
///   all stored by an identical batch returns the original places with
///   `already_appended: true`; a partial overlap or changed content is
///   [`AppendError::IdempotencyConflict`].
/// - Every event gets a global [`Position`], dense from 0 and in commit order. Reads
///   only ever return committed, durable events, so a reader that has seen `p`
///   never later finds a new event below `p`.
/// - `head` publishes the last durable position; subscribers wait on it
///   (see [`Subscription`](crate::Subscription)).
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` to `stream` as one atomic batch.
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError>;

    /// Up to `max` events of `stream` with revision ≥ `from_revision`, in order.
    /// An unknown stream reads as empty.
    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError>;

    /// Up to `max` events with position > `after` (all from 0 when `None`), in
    /// position order.
    async fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError>;

    /// The last revision of `stream`, `None` when it has no events.
    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, ReadError>;

    /// The last durable position (`None` while the log is empty). The receiver
    /// changes after every commit; it is a wake-up, the reads are the truth.
    fn head(&self) -> watch::Receiver<Option<Position>>;

    /// The stored checkpoint of a named consumer.
    async fn load_checkpoint(&self, consumer: &str) -> Result<Option<Position>, ReadError>;

    /// Durably stores the checkpoint of a named consumer.
    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), AppendError>;

    /// Every stored consumer checkpoint, sorted by name; for moving a log
    /// between stores (`caucus log copy`). A store (or wrapper) that cannot
    /// list them answers [`ReadError::Unavailable`], never an empty list.
    async fn checkpoints(&self) -> Result<Vec<(String, Position)>, ReadError> {
        Err(ReadError::Unavailable(
            "this store cannot list its consumer checkpoints".into(),
        ))
    }
}
