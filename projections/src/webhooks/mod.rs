//! Webhooks fed by the log: 100ms payloads, Standard Webhooks signatures,
//! at-least-once delivery ordered per room, retries, dead letters, replay.
//! The contract is `docs/webhooks.md`.
//!
//! ```text
//! let hooks = Webhooks::start(log, Some(data_dir.join("webhooks")), DeliveryConfig::default()).await?;
//! let (endpoint, secret) = hooks.create(&workspace, spec).await?;
//! // … every room event of the workspace reaches endpoint.url, signed with `secret`
//! hooks.redeliver(&workspace, &endpoint.id, Selection::Positions { from, to }).await?;
//! ```
//!
//! Layout: [`context`] (the per-room fold payloads read), [`payload`] (the pure
//! mapping, event → payloads), [`signer`] (signatures and secrets), [`policy`]
//! (URL and header rules), [`endpoint`] (endpoint store, 0600 file),
//! [`client`] (one bounded, signed HTTP attempt; the only reqwest user),
//! [`journal`] (delivery log and dead letters), [`delivery`] (the consumer per
//! endpoint, retries), [`replay`] (redelivery selections), [`service`] (the
//! handle for the server and the API).

pub mod client;
pub mod context;
pub mod delivery;
pub mod endpoint;
pub mod journal;
pub mod payload;
pub mod policy;
pub mod replay;
pub mod service;
pub mod signer;

pub use client::ClientConfig;
pub use delivery::{ConsumerProgress, DeliveryConfig, RetryPolicy, checkpoint_name};
pub use endpoint::{Endpoint, EndpointError, EndpointSpec, EndpointStore, RoomHook, RoomScope};
pub use journal::{AttemptRecord, DeadLetter};
pub use payload::{Payload, map};
pub use policy::UrlPolicy;
pub use replay::Selection;
pub use service::{WebhookError, Webhooks};
pub use signer::SigningSecret;
