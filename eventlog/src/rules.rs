//! The append rules every store applies, as pure functions: batch validation,
//! the expected-revision check, and idempotency by event id.
//!
//! A store looks up the current last revision of the stream and, for each event
//! of the batch, what it already holds under that event id; [`plan_append`] then
//! says whether to write, to answer with the original places, or to refuse.
//!
//! Idempotency, precisely (EventStoreDB's `sequence_…` matrix with `0e5` fixed):
//! - no id of the batch is stored: the expected revision is checked as usual;
//! - every id is stored, with identical content, in this stream, at consecutive
//!   revisions and positions in batch order: the batch is already appended when
//!   the expected revision holds now (`0any`, `0e5`) or names exactly the place
//!   the batch went to (`0em1`); otherwise it is a wrong expected revision
//!   (`0e4`, `0e6`);
//! - anything else (some ids stored and some not, changed content, another
//!   stream, another order) is an [`AppendError::IdempotencyConflict`].

use std::collections::HashSet;

use crate::error::AppendError;
use crate::idhash::IdState;
use crate::types::{AppendOutcome, ExpectedRevision, NewEvent, RecordedEvent, StreamName};

/// Size limits on appends; exceeding one is [`AppendError::Invalid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most events in one append.
    pub max_batch_events: usize,
    /// Most payload + metadata + type bytes of one event.
    pub max_event_bytes: usize,
    /// Most bytes of one append, all events together.
    pub max_batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_events: 10_000,
            max_event_bytes: 1 << 20,
            max_batch_bytes: 4 << 20,
        }
    }
}

/// Longest event type name, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 255;
/// Longest actor string in metadata, in bytes.
pub const MAX_ACTOR_LEN: usize = 1024;

/// The bytes an event occupies for the limits: type, payload and actor.
pub fn event_size(e: &NewEvent) -> usize {
    e.event_type.len() + e.payload.len() + e.metadata.actor.as_ref().map_or(0, String::len) + 64
}

/// Checks a batch on its own: not empty, no repeated id, within `limits`.
pub fn validate_batch(events: &[NewEvent], limits: &Limits) -> Result<(), AppendError> {
    if events.is_empty() {
        return Err(AppendError::Invalid("empty batch".into()));
    }
    if events.len() > limits.max_batch_events {
        return Err(AppendError::Invalid(format!(
            "{} events in one batch, the limit is {}",
            events.len(),
            limits.max_batch_events
        )));
    }
    // Small batches compare ids pairwise; larger ones use a set.
    let mut ids = HashSet::with_capacity_and_hasher(
        if events.len() > 8 { events.len() } else { 0 },
        IdState::default(),
    );
    let mut total = 0usize;
    for (i, e) in events.iter().enumerate() {
        let repeated = if events.len() > 8 {
            !ids.insert(e.event_id)
        } else {
            events[..i].iter().any(|x| x.event_id == e.event_id)
        };
        if repeated {
            return Err(AppendError::Invalid(format!(
                "event id {} appears twice in one batch",
                e.event_id
            )));
        }
        if e.event_type.is_empty() || e.event_type.len() > MAX_EVENT_TYPE_LEN {
            return Err(AppendError::Invalid(format!(
                "event type of {} must be 1..={MAX_EVENT_TYPE_LEN} bytes",
                e.event_id
            )));
        }
        if e.metadata
            .actor
            .as_ref()
            .is_some_and(|a| a.len() > MAX_ACTOR_LEN)
        {
            return Err(AppendError::Invalid(format!(
                "actor of {} is longer than {MAX_ACTOR_LEN} bytes",
                e.event_id
            )));
        }
        let size = event_size(e);
        if size > limits.max_event_bytes {
            return Err(AppendError::Invalid(format!(
                "event {} is {size} bytes, the limit is {}",
                e.event_id, limits.max_event_bytes
            )));
        }
        total += size;
    }
    if total > limits.max_batch_bytes {
        return Err(AppendError::Invalid(format!(
            "batch is {total} bytes, the limit is {}",
            limits.max_batch_bytes
        )));
    }
    Ok(())
}

/// Checks `expected` against the stream's last revision (`None`: no events).
pub fn check_expected(
    stream: &StreamName,
    expected: ExpectedRevision,
    current: Option<u64>,
) -> Result<(), AppendError> {
    let ok = match expected {
        ExpectedRevision::Any => true,
        ExpectedRevision::NoStream => current.is_none(),
        ExpectedRevision::StreamExists => current.is_some(),
        ExpectedRevision::Exact(n) => current == Some(n),
    };
    if ok {
        Ok(())
    } else {
        Err(AppendError::WrongExpectedRevision {
            stream: stream.clone(),
            expected,
            actual: current,
        })
    }
}

/// What a store does with a valid batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Write the batch; its first event gets this revision.
    Append { first_revision: u64 },
    /// Write nothing; answer with the original places.
    AlreadyAppended(AppendOutcome),
}

/// Decides an append of a batch that passed [`validate_batch`]. `stored[i]` is
/// what the store holds under `events[i].event_id`, if anything; `stored` may
/// be empty when the store holds none of the ids.
pub fn plan_append(
    stream: &StreamName,
    expected: ExpectedRevision,
    current: Option<u64>,
    events: &[NewEvent],
    stored: &[Option<RecordedEvent>],
) -> Result<Plan, AppendError> {
    if stored.iter().all(Option::is_none) {
        check_expected(stream, expected, current)?;
        return Ok(Plan::Append {
            first_revision: current.map_or(0, |r| r + 1),
        });
    }
    if stored.len() != events.len() {
        return Err(AppendError::Invalid(
            "stored events do not match the batch".into(),
        ));
    }
    let conflict = |event_id, reason| AppendError::IdempotencyConflict {
        stream: stream.clone(),
        event_id,
        reason,
    };
    let mut first: Option<&RecordedEvent> = None;
    for (i, (e, s)) in events.iter().zip(stored).enumerate() {
        let Some(s) = s else {
            return Err(conflict(
                e.event_id,
                "is new but other events of its batch are already stored",
            ));
        };
        if &s.stream != stream {
            return Err(conflict(e.event_id, "is already stored in another stream"));
        }
        if !e.same_content(s) {
            return Err(conflict(e.event_id, "is already stored with other content"));
        }
        let f = *first.get_or_insert(s);
        if s.revision != f.revision + i as u64 || s.position.0 != f.position.0 + i as u64 {
            return Err(conflict(e.event_id, "is already stored in another order"));
        }
    }
    let (Some(f), Some(Some(l))) = (first, stored.last()) else {
        return Err(AppendError::Invalid("empty batch".into()));
    };
    let at_expected_place = match expected {
        ExpectedRevision::Any | ExpectedRevision::StreamExists => true,
        ExpectedRevision::NoStream => f.revision == 0,
        ExpectedRevision::Exact(n) => f.revision == n + 1,
    };
    if !at_expected_place {
        check_expected(stream, expected, current)?;
    }
    Ok(Plan::AlreadyAppended(AppendOutcome {
        first_revision: f.revision,
        last_revision: l.revision,
        first_position: f.position,
        last_position: l.position,
        already_appended: true,
    }))
}
