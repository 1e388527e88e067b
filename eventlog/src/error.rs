//! Errors of the log, one enum per operation kind.

use uuid::Uuid;

use crate::types::{ExpectedRevision, StreamName};

/// Why an append did not happen. In every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The stream is not where the writer expected: re-read and decide again.
    #[error("wrong expected revision on {stream}: expected {expected}, actual {actual:?}")]
    WrongExpectedRevision {
        stream: StreamName,
        expected: ExpectedRevision,
        /// The stream's last revision, `None` when it has no events.
        actual: Option<u64>,
    },
    /// An event id was stored before with other content, or a batch mixes stored
    /// and new ids. The caller has a bug: ids must be unique per fact.
    #[error("idempotency conflict on {stream}: event {event_id} {reason}")]
    IdempotencyConflict {
        stream: StreamName,
        event_id: Uuid,
        reason: &'static str,
    },
    /// An empty batch, a batch with a repeated id, or an oversized event.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The store could not make the batch durable; it is not stored.
    /// Safe to retry with the same event ids.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store is shut down.
    #[error("the log is closed")]
    Closed,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A stored record failed its checksum or could not be parsed. The record is
    /// never served; the message names where it lies.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The store could not be read (I/O, lost connection). Safe to retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("the log is closed")]
    Closed,
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Data that recovery cannot repair without losing acknowledged events
    /// (corruption before the tail). Nothing was changed on disk.
    #[error("corrupt data in {path}: {reason}")]
    Corrupt { path: String, reason: String },
    /// The data was written by a newer Caucus. Nothing was changed.
    #[error("data format version {found} is newer than this build supports ({supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Other(String),
}
