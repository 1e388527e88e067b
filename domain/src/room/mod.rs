//! Rooms: one stream per room (`room-<id>`), holding its sessions, peers,
//! tracks and role changes.
//!
//! Layout: [`model`] (room info, settings, session, peer, track, shared enums),
//! [`state`] (`RoomState` and its queries), [`command`], [`events`], [`error`],
//! [`decide`](mod@decide) (split per concern), [`evolve`](mod@evolve).

pub mod command;
pub mod decide;
pub mod error;
pub mod events;
pub mod evolve;
pub mod model;
pub mod state;

pub use command::*;
pub use decide::decide;
pub use error::RoomError;
pub use events::*;
pub use evolve::{apply, evolve};
pub use model::*;
pub use state::{Counters, RoomState};

use crate::aggregate::Aggregate;

/// The room aggregate (stream category `"room"`).
#[derive(Debug)]
pub struct Room;

impl Aggregate for Room {
    type State = RoomState;
    type Command = RoomCommand;
    type Event = RoomEvent;
    type Error = RoomError;
    const CATEGORY: &'static str = "room";

    fn decide(state: &RoomState, cmd: &RoomCommand) -> Result<Vec<RoomEvent>, RoomError> {
        decide(state, cmd)
    }

    fn evolve(state: RoomState, event: &RoomEvent) -> RoomState {
        evolve(state, event)
    }

    fn apply(state: &mut RoomState, event: &RoomEvent) {
        apply(state, event)
    }
}
