//! What a webhook payload needs to know about its room before an event: the
//! domain's own [`RoomState`], folded with the domain's `apply` (the same fold
//! the live rooms and the decider use), plus the revision the next event of
//! the stream will have.
//!
//! A [`RoomContext`] is a fold of one room stream, nothing else, so the consumer
//! can rebuild it at any revision by reading that stream (no snapshot needed,
//! and a replay of an old event sees exactly the context it had).

use caucus_domain::RoomEvent;
use caucus_domain::room::{RoomState, TrackKind, TrackSource, apply};

/// One room as of some revision of its stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoomContext {
    /// The domain's state of the room.
    pub state: RoomState,
    /// The revision the next event of this stream will have.
    pub next_revision: u64,
}

impl RoomContext {
    /// Applies one event of the room's stream. Infallible, like `evolve`.
    pub fn apply(&mut self, event: &RoomEvent) {
        apply(&mut self.state, event);
        self.next_revision += 1;
    }

    /// True when nothing is happening in the room: the context can be dropped
    /// from a cache and rebuilt from the stream when the room wakes up.
    pub fn is_idle(&self) -> bool {
        self.state.session.is_none() && self.state.peers.is_empty()
    }
}

/// 100ms's `track_type`.
pub fn track_kind(k: TrackKind) -> &'static str {
    match k {
        TrackKind::Audio => "audio",
        TrackKind::Video => "video",
    }
}

/// 100ms's track `source`.
pub fn track_source(s: TrackSource) -> &'static str {
    match s {
        TrackSource::Regular => "regular",
        TrackSource::Screen => "screen",
        TrackSource::AudioPlaylist => "audioplaylist",
        TrackSource::VideoPlaylist => "videoplaylist",
    }
}
