//! The trait a media transport implements for the signalling, and what it
//! reports back. A transport knows peers and tracks, never rooms' rules: the
//! server hands it a [`ForwardingPlan`] per room and turns its events into
//! commands.

use async_trait::async_trait;
use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, RoomId, TrackId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::plan::ForwardingPlan;

/// Which of a peer's two connections (100ms `HMSConnectionRole`; the numbers
/// are the wire values of `trickle.target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The peer sends media (it offers).
    Publish = 0,
    /// The peer receives media (the server offers).
    Subscribe = 1,
}

impl Target {
    pub fn from_wire(v: u64) -> Option<Self> {
        match v {
            0 => Some(Self::Publish),
            1 => Some(Self::Subscribe),
            _ => None,
        }
    }

    pub fn wire(self) -> u8 {
        self as u8
    }
}

/// An SDP offer or answer as browsers write it (`RTCSessionDescriptionInit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

impl SessionDescription {
    pub fn offer(sdp: impl Into<String>) -> Self {
        Self {
            kind: "offer".into(),
            sdp: sdp.into(),
        }
    }

    pub fn answer(sdp: impl Into<String>) -> Self {
        Self {
            kind: "answer".into(),
            sdp: sdp.into(),
        }
    }
}

/// An ICE candidate as browsers write it (`RTCIceCandidateInit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    /// `candidate:…` (an empty string is the end-of-candidates marker).
    pub candidate: String,
    #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(
        rename = "sdpMLineIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

/// What a transport tells the signalling about one attached peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// A new offer for the subscribe connection (first subscription or a
    /// change in what the peer receives); the client answers it.
    SubscribeOffer(SessionDescription),
    /// A local ICE candidate to trickle to the client.
    Candidate {
        target: Target,
        candidate: IceCandidate,
    },
    /// A connection completed ICE and DTLS.
    Connected { target: Target },
    /// A connection failed (ICE failed or timed out, DTLS error) or was
    /// closed by the client; the peer's media session is over.
    Failed { target: Target, reason: String },
    /// The first media packet of one of the peer's published tracks arrived.
    TrackFlowing { track: TrackId },
    /// Frame transports (QUIC): the peer will receive `track` of `publisher`
    /// under `alias` (sent before its first group).
    MediaTrack {
        track: TrackId,
        publisher: PeerId,
        alias: u64,
        kind: TrackKind,
        codec: String,
        timescale: u32,
    },
    /// Frame transports: the peer no longer receives the track of `alias`.
    MediaTrackEnd { alias: u64 },
    /// Frame transports: the peer should start a new group with a keyframe
    /// on its track `alias` (a subscriber needs one).
    KeyframeRequest { alias: u64 },
}

/// A track a frame transport's publisher declares (QUIC `publish`): which
/// of its aliases carries which track, and how to read the objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameTrack {
    pub track: TrackId,
    pub alias: u64,
    pub kind: TrackKind,
    /// `opus`, `vp8` or `h264`.
    pub codec: String,
    /// Units of object timestamps per second.
    pub timescale: u32,
}

/// Why a transport refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    #[error("invalid ICE candidate: {0}")]
    InvalidCandidate(String),
    #[error("peer {0} has no media session")]
    UnknownPeer(String),
    #[error("no {0:?} connection exists for this peer")]
    NoConnection(Target),
    #[error("the offer/answer exchange is in the wrong state: {0}")]
    WrongState(String),
    #[error("the transport is shut down")]
    Closed,
}

/// A media transport (WebRTC now, QUIC later) as the signalling sees it.
///
/// Implementations run their own I/O; every method only hands work over.
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// Opens the peer's media session in `room`, or, when it exists (a
    /// reconnecting client), keeps its connections and tracks. Events for the
    /// peer arrive on the returned receiver, which replaces any earlier one.
    async fn attach(
        &self,
        room: &RoomId,
        peer: &PeerId,
    ) -> Result<mpsc::Receiver<PeerEvent>, TransportError>;

    /// The client's offer on its publish connection (at join and at every
    /// renegotiation); returns the answer. Published tracks are identified
    /// by the track id of their `a=msid` line.
    async fn publish_offer(
        &self,
        peer: &PeerId,
        offer: &SessionDescription,
    ) -> Result<SessionDescription, TransportError>;

    /// The client's answer to the last [`PeerEvent::SubscribeOffer`].
    async fn subscribe_answer(
        &self,
        peer: &PeerId,
        answer: &SessionDescription,
    ) -> Result<(), TransportError>;

    /// A remote ICE candidate for one of the peer's connections.
    async fn trickle(
        &self,
        peer: &PeerId,
        target: Target,
        candidate: &IceCandidate,
    ) -> Result<(), TransportError>;

    /// Replaces the room's forwarding plan. Takes effect at once: packets of
    /// tracks no longer planned for a peer stop, new subscriptions are
    /// offered to their peers.
    async fn set_plan(&self, room: &RoomId, plan: ForwardingPlan);

    /// Ends the peer's media session and forgets it.
    async fn detach(&self, peer: &PeerId);

    /// Frame transports (QUIC): the complete set of the peer's published
    /// tracks and their aliases, replacing the previous set. SDP transports
    /// refuse it.
    async fn declare_tracks(
        &self,
        _peer: &PeerId,
        _tracks: Vec<FrameTrack>,
    ) -> Result<(), TransportError> {
        Err(TransportError::WrongState(
            "this transport takes SDP offers, not track declarations".into(),
        ))
    }
}
