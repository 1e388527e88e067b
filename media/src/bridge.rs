//! How one transport hands another the media of its publishers, for rooms
//! that mix transports (docs/quic-protocol.md §9).
//!
//! Each transport keeps the same forwarding plan. When a route of one of its
//! publishers lists a peer it does not serve, the transport sends the
//! track's media across as [`Frame`]s, converted once per track; the other
//! transport fans them out to its own subscribers by its own copy of the
//! plan. Keyframe requests cross the other way.

use std::fmt::Debug;

use caucus_domain::{PeerId, TrackId};

use crate::convert::{Codec, Frame};

/// A published track as it crosses to another transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgedTrack {
    pub publisher: PeerId,
    pub track: TrackId,
    pub codec: Codec,
    /// Units per second of the frames' timestamps.
    pub timescale: u32,
}

/// What crosses from one transport to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// A frame of a track published on the sending transport.
    Frame { track: BridgedTrack, frame: Frame },
    /// A subscriber on the sending transport needs a keyframe of a track
    /// published on the receiving one.
    KeyframeRequest { publisher: PeerId, track: TrackId },
}

/// The receiving side of another transport. `send` never blocks: under
/// overload a crossing is dropped, which a video receiver recovers from at
/// the next keyframe.
pub trait Bridge: Send + Sync + Debug + 'static {
    fn send(&self, crossing: Crossing);
}
