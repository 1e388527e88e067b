//! Caucus media: what the transports share, and nothing of rooms or the log.
//!
//! - [`plan`]: the [`ForwardingPlan`] of a room — which published track flows
//!   to which peer — derived (purely) from live room state: a track flows from
//!   its publisher to every other joined peer whose role lists the publisher's
//!   role in `subscribeParams.subscribeToRoles`, unless it is muted.
//! - [`router`]: the sans-IO fan-out index a transport keeps: plans per room,
//!   "who receives this track" lookups on the packet path, and the per-peer
//!   difference between two plans (what to add to or remove from a peer's
//!   subscribe connection).
//! - [`convert`]: RTP packets ↔ frames, once per track, for rooms that mix
//!   packet and frame transports.
//! - [`bridge`]: how one transport hands another the media of its
//!   publishers (converted frames, keyframe requests).
//! - [`keyframe`]: throttling of keyframe requests sent upstream.
//! - [`transport`]: the [`Transport`] trait the server and the signalling use,
//!   and the events a transport reports back.

pub mod bridge;
pub mod convert;
pub mod keyframe;
pub mod plan;
pub mod router;
pub mod transport;

pub use bridge::{Bridge, BridgedTrack, Crossing};
pub use convert::{Codec, Frame};
pub use keyframe::KeyframeThrottle;
pub use plan::{ForwardingPlan, PlannedTrack};
pub use router::{PeerDiff, Router};
pub use transport::{
    FrameTrack, IceCandidate, PeerEvent, SessionDescription, Target, Transport, TransportError,
};
