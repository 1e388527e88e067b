//! Read models built from the log, and the command executor that writes to it.
//!
//! The canonical loop of the engine:
//!
//! ```text
//! let rooms = Executor::<Room>::new(log.clone());
//! let done  = rooms.execute(&room_id, cmd, metadata).await?;      // decide + durable append
//! live.wait_for(done.outcome.unwrap().last_position).await?;     // read-your-writes
//! live.read(|l| l.room(&room_id).cloned())                       // query the projection
//! ```
//!
//! Layout: [`executor`] (load, decide, append with expected revision, retry on
//! conflict; one task per stream), [`codec`] (envelope ↔ domain event),
//! [`runner`] (the [`Projection`] trait, a task that keeps one current, snapshots
//! and checkpoints, rebuilds), [`live`] (rooms and templates as they are now),
//! [`history`] (sessions with each peer's joins, leaves, roles and tracks),
//! [`engine`] (all of the above wired over one log).

pub mod codec;
pub mod engine;
pub mod executor;
pub mod history;
pub mod live;
pub mod runner;
pub mod webhooks;

pub use codec::{DecodeFailure, decode_event, entity_id};
pub use engine::Engine;
pub use executor::{Executable, ExecuteError, Executed, Executor, encode_event};
pub use history::{PeerRecord, SessionHistory, SessionRecord};
pub use live::{LiveEvent, LiveRooms, LiveTotals};
pub use runner::{Progress, Projected, Projection, ProjectionError, SnapshotDir, rebuild};
