//! The event log: the contract ([`EventLog`]), its stores, and the conformance
//! suite every store passes.
//!
//! The canonical use:
//!
//! ```text
//! let outcome = log.append(&stream, ExpectedRevision::Exact(rev), events).await?; // durable
//! let history = log.read_stream(&stream, 0, usize::MAX).await?;
//! let mut sub = Subscription::new(log.clone(), checkpoint, Filter::All);
//! loop { match sub.next().await? { Event(e) => apply(e), CaughtUp => ready() } }
//! ```
//!
//! Layout: [`types`] (names, positions, envelopes), [`error`] (one error enum per
//! operation kind), [`log`] (the trait), [`rules`] (the append rules every store
//! applies: validation, expected revision, idempotency), [`subscription`]
//! (catch-up subscriptions over any store), [`memory`] (a non-durable store for
//! tests), [`embedded`] (the default store in a data directory), `postgres` (the
//! PostgreSQL store, behind the default `postgres` feature), `conformance`
//! (the shared suite, behind the `conformance` feature).

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
pub mod error;
mod idhash;
pub mod log;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rules;
pub mod subscription;
pub mod types;

pub use embedded::EmbeddedLog;
pub use error::{AppendError, OpenError, ReadError};
pub use log::EventLog;
pub use memory::MemoryLog;
pub use subscription::{Filter, Subscription, SubscriptionMessage};
pub use types::{
    AppendOutcome, Codec, ExpectedRevision, InvalidStreamName, Metadata, NewEvent, Position,
    RecordedEvent, StreamName,
};
