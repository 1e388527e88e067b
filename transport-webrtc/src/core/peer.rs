//! What the core keeps per attached peer.

use std::collections::HashMap;

use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, RoomId, TrackId};
use caucus_media::PeerEvent;
use str0m::Candidate;
use str0m::change::SdpPendingOffer;
use str0m::media::{Mid, Rid};
use str0m::rtp::Ssrc;
use tokio::sync::mpsc;

use crate::conn::Conn;
use crate::forward::{Forwarding, Layers};

/// A published track as the publish connection carries it.
#[derive(Debug)]
pub struct Published {
    pub track: TrackId,
    pub video: bool,
    /// Whether `TrackFlowing` was reported.
    pub flowing: bool,
    pub layers: Layers,
}

/// One send m-line of the subscribe connection.
#[derive(Debug)]
pub struct Line {
    pub mid: Mid,
    pub kind: TrackKind,
    /// Negotiated (the client answered the offer that added it).
    pub active: bool,
    pub fwd: Forwarding,
}

/// A received track: (publisher, track id). A reused track id under another
/// publisher is another track.
pub type TrackKey = (PeerId, TrackId);

#[derive(Debug)]
pub struct Peer {
    pub room: RoomId,
    pub events: mpsc::Sender<PeerEvent>,
    pub publish: Option<Conn>,
    pub subscribe: Option<Conn>,
    /// Remote candidates for the publish connection before it exists.
    pub queued: Vec<Candidate>,
    /// Publish m-lines by mid.
    pub published: HashMap<Mid, Published>,
    /// Incoming SSRC → (mid, rid), learnt from str0m's receive streams.
    pub ssrcs: HashMap<Ssrc, (Mid, Option<Rid>)>,
    /// Subscribe m-lines by received track.
    pub lines: HashMap<TrackKey, Line>,
    /// The subscribe offer awaiting its answer, and its text (re-sent to a
    /// reconnecting client).
    pub pending: Option<(SdpPendingOffer, String)>,
    /// The plan changed while an offer was pending: offer again after it.
    pub renegotiate: bool,
}

impl Peer {
    pub fn new(room: RoomId, events: mpsc::Sender<PeerEvent>) -> Self {
        Self {
            room,
            events,
            publish: None,
            subscribe: None,
            queued: Vec::new(),
            published: HashMap::new(),
            ssrcs: HashMap::new(),
            lines: HashMap::new(),
            pending: None,
            renegotiate: false,
        }
    }

    /// Hands an event to the signalling without ever blocking the media loop.
    pub fn emit(&self, event: PeerEvent) {
        use mpsc::error::TrySendError;
        match self.events.try_send(event) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(e)) => tracing::warn!(?e, "peer event channel full; dropped"),
        }
    }

    /// The publish mid carrying `track`.
    pub fn mid_of(&self, track: &TrackId) -> Option<Mid> {
        self.published
            .iter()
            .find(|(_, p)| &p.track == track)
            .map(|(m, _)| *m)
    }
}
