//! Values that cross the [`EventLog`](crate::EventLog) boundary.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Name of a stream: `<category>-<id>`, e.g. `room-65f0c2…`, `template-65f0…`.
///
/// The category (the part before the first `-`) is what category subscriptions
/// filter on. Names are 1..=255 bytes of ASCII letters, digits, `-`, `_`, `.`, `:`.
///
/// The text is shared (`Arc<str>`): every event of a stored batch carries the
/// same name, and a page of reads hands out one per event, so a clone counts a
/// reference instead of copying the text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamName(Arc<str>);

impl StreamName {
    /// Longest accepted stream name, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Checks and wraps a stream name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidStreamName> {
        let name = name.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if name.is_empty() || name.len() > Self::MAX_LEN || !name.chars().all(ok_char) {
            return Err(InvalidStreamName(name));
        }
        Ok(Self(name.into()))
    }

    /// The stream for one entity of a category: `<category>-<id>`.
    pub fn of(category: &str, id: &str) -> Result<Self, InvalidStreamName> {
        Self::new(format!("{category}-{id}"))
    }

    /// The category: everything before the first `-` (the whole name if none).
    pub fn category(&self) -> &str {
        match self.0.find('-') {
            Some(end) => &self.0[..end],
            None => &self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// By hand because serde implements `Arc<str>` only with its `rc` feature; the
// format is the one the derive gave `StreamName(String)`: a newtype struct.
impl Serialize for StreamName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct("StreamName", self.as_str())
    }
}

impl<'de> Deserialize<'de> for StreamName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "StreamName")]
        struct Raw(String);
        Raw::deserialize(d).map(|Raw(name)| Self(name.into()))
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stream name that is empty, too long, or has characters outside the allowed set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid stream name {0:?}: use 1-255 ASCII letters, digits, '-', '_', '.', ':'")]
pub struct InvalidStreamName(pub String);

/// Global position of an event in the log: dense from 0, in commit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position(pub u64);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the writer believes about the stream before appending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last revision must be exactly this.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(n) => write!(f, "revision {n}"),
        }
    }
}

/// How an event's payload bytes are encoded. Recorded per event so the codec
/// can change later without rewriting stored bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Codec {
    /// bincode 2, standard configuration, serde-encoded.
    Bincode2 = 1,
    /// UTF-8 JSON.
    Json = 2,
}

impl Codec {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Bincode2),
            2 => Some(Self::Json),
            _ => None,
        }
    }
}

/// Who did it and why: carried with every event, never interpreted by the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Who asked for the change, e.g. `peer:<id>`, `api:<access key>`, `system`.
    pub actor: Option<String>,
    /// The request or conversation this event belongs to.
    pub correlation_id: Option<Uuid>,
    /// The event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
}

/// An event to append. The id makes appends idempotent (see [`AppendOutcome`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub codec: Codec,
    pub payload: Vec<u8>,
    pub metadata: Metadata,
}

impl NewEvent {
    /// Same content, as idempotency compares it: everything but nothing the store adds.
    pub fn same_content(&self, other: &RecordedEvent) -> bool {
        self.event_id == other.event_id
            && self.event_type == other.event_type
            && self.schema_version == other.schema_version
            && self.codec == other.codec
            && self.payload == other.payload
            && self.metadata == other.metadata
    }
}

/// An event as stored, with the place the log gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream: StreamName,
    /// Dense per-stream revision from 0.
    pub revision: u64,
    /// Global position, dense from 0 in commit order.
    pub position: Position,
    pub event_type: String,
    pub schema_version: u16,
    pub codec: Codec,
    pub payload: Vec<u8>,
    pub metadata: Metadata,
    /// When the store committed it, microseconds since the Unix epoch.
    /// Informational only: order comes from `position`.
    pub recorded_at_us: i64,
}

/// Where an append landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub first_revision: u64,
    pub last_revision: u64,
    pub first_position: Position,
    pub last_position: Position,
    /// True when every event id of the batch was already stored by an identical
    /// earlier append: nothing was written, and the original places are returned.
    pub already_appended: bool,
}
