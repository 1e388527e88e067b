//! Caucus domain: ids, templates and roles, the room decider, and the events
//! that are the contract with the event log. Pure: no I/O, no clock, no async,
//! no randomness — time and generated ids arrive inside commands.
//!
//! The call sequence, for one stream (`room-<id>` or `template-<id>`):
//!
//! ```text
//! state  = stored_events.fold(RoomState::default(), room::evolve)
//! events = room::decide(&state, &cmd)?          // refusal: typed error, nothing changes
//! log.append(stream, expected_revision, events.map(|e| (e.event_type(), e.schema_version(), e.encode())))
//! state  = events.fold(state, room::evolve)     // infallible
//! ```
//!
//! Reading back, `RoomEvent::decode(type, version, bytes)` restores the event,
//! upcasting old schema versions. The [`Aggregate`] trait gives an executor the
//! same four steps for [`Room`] and [`Template`] generically; its in-place
//! `apply` (and `fold`, built on it) is the fast path for long replays.
//!
//! Layout: [`ids`] (validated newtype ids), [`time`] ([`Timestamp`], µs since
//! the epoch), [`actor`] (who acts: a peer or the server), [`template`] (roles
//! with 100ms field names, settings, validation, the template decider),
//! [`room`] (room state, commands, events, `decide` split per concern, `evolve`),
//! [`codec`] ([`DomainEvent`]: type names, versions, bincode payloads),
//! [`aggregate`] (the [`Aggregate`] trait).
//!
//! Rules worth knowing before reading the code:
//! - A room holds a *snapshot* of its template's roles, taken from the command
//!   at creation, on update, and when a join opens a session, so `decide` never
//!   reads the template stream.
//! - A session is open exactly while peers are present: the first join opens it
//!   (`SessionOpened`), the last leave, an end-room, or the maximum duration
//!   (`Tick`) closes it (`SessionClosed`).
//! - `Actor::Server` bypasses permission checks, never role limits or room size.
//! - After a role change grants a publish right, the peer's first track of that
//!   kind is recorded muted; losing a right unpublishes the affected tracks.

pub mod actor;
pub mod aggregate;
pub mod codec;
pub mod ids;
pub mod room;
pub mod template;
pub mod time;

pub use actor::Actor;
pub use aggregate::Aggregate;
pub use codec::{DecodeError, DomainEvent};
pub use ids::*;
pub use room::{Room, RoomCommand, RoomError, RoomEvent, RoomState};
pub use template::{Template, TemplateCommand, TemplateError, TemplateEvent, TemplateState};
pub use time::Timestamp;
