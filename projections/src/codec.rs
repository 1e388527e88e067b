//! Between the log's envelope and the domain's events.

use caucus_domain::{DecodeError, DomainEvent};
use caucus_eventlog::{Codec, Position, RecordedEvent, StreamName};

/// A stored event that cannot be turned back into a domain event: an unknown type
/// or schema version (written by a newer Caucus), or bytes that do not parse.
/// The stored bytes are left as they are.
#[derive(Debug, thiserror::Error)]
#[error(
    "event at position {position} ({stream} revision {revision}, {event_type} v{schema_version}): {reason}"
)]
pub struct DecodeFailure {
    pub position: Position,
    pub stream: StreamName,
    pub revision: u64,
    pub event_type: String,
    pub schema_version: u16,
    pub reason: String,
}

/// Decodes a recorded event's payload, upcasting old schema versions.
pub fn decode_event<E: DomainEvent>(recorded: &RecordedEvent) -> Result<E, DecodeFailure> {
    let fail = |reason: String| DecodeFailure {
        position: recorded.position,
        stream: recorded.stream.clone(),
        revision: recorded.revision,
        event_type: recorded.event_type.clone(),
        schema_version: recorded.schema_version,
        reason,
    };
    if recorded.codec != Codec::Bincode2 {
        return Err(fail(format!("unsupported codec {:?}", recorded.codec)));
    }
    E::decode(
        &recorded.event_type,
        recorded.schema_version,
        &recorded.payload,
    )
    .map_err(|e: DecodeError| fail(e.to_string()))
}

/// The entity id of the event's stream, `<category>-<id>` → `id`, parsed as `T`
/// (`None` when the stream name does not carry a valid one).
pub fn entity_id<T: std::str::FromStr>(recorded: &RecordedEvent) -> Option<T> {
    recorded
        .stream
        .as_str()
        .split_once('-')
        .and_then(|(_, id)| id.parse().ok())
}
