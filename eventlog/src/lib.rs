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
//! operation kind), [`log`] (the trait), [`subscription`] (catch-up subscriptions
//! over any store), `embedded` (the default store in a data directory),
//! `conformance` (the shared suite).

pub mod error;
pub mod log;
pub mod subscription;
pub mod types;

pub use error::{AppendError, OpenError, ReadError};
pub use log::EventLog;
pub use subscription::{Filter, Subscription, SubscriptionMessage};
pub use types::{
    AppendOutcome, Codec, ExpectedRevision, InvalidStreamName, Metadata, NewEvent, Position,
    RecordedEvent, StreamName,
};
