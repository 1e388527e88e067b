//! The state every connection task of the server shares: the forwarding
//! plans ([`Router`]), the fan-out core, and per peer its connection, its
//! event channel, its declared tracks and what it receives under which
//! alias. Behind one mutex, never held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, TrackId};
use caucus_media::{Bridge, Crossing, FrameTrack, KeyframeThrottle, PeerEvent, Router};
use tokio::sync::mpsc;

use super::fanout::Fanout;
use super::writer::Writer;

/// One request per track per this interval goes to the publisher.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub struct Shared {
    pub router: Router,
    pub fanout: Fanout,
    pub peers: HashMap<PeerId, PeerMedia>,
    /// Connections bound to peers by their `hello`.
    pub conns: HashMap<PeerId, web_transport_quinn::Session>,
    /// Tracks published on another transport whose frames cross to this
    /// one (docs/quic-protocol.md §9), as if declared by their publisher.
    pub foreign: HashMap<(PeerId, TrackId), FrameTrack>,
    /// Where crossings to the other transport go.
    pub bridge: Option<Arc<dyn Bridge>>,
    throttle: KeyframeThrottle<(PeerId, TrackId)>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            router: Router::new(),
            fanout: Fanout::new(),
            peers: HashMap::new(),
            conns: HashMap::new(),
            foreign: HashMap::new(),
            bridge: None,
            throttle: KeyframeThrottle::new(KEYFRAME_INTERVAL),
        }
    }
}

/// A peer's media session.
#[derive(Debug)]
pub struct PeerMedia {
    pub events: mpsc::Sender<PeerEvent>,
    /// Declared tracks by the peer's alias.
    pub published: HashMap<u64, FrameTrack>,
    /// Received tracks, by (publisher, track).
    pub receiving: HashMap<(PeerId, TrackId), Receiving>,
    next_alias: u64,
}

/// A track a peer receives.
#[derive(Debug)]
pub struct Receiving {
    pub alias: u64,
    /// The task writing its group streams, once media flowed.
    pub writer: Option<Writer>,
}

impl PeerMedia {
    pub fn new(events: mpsc::Sender<PeerEvent>) -> Self {
        Self {
            events,
            published: HashMap::new(),
            receiving: HashMap::new(),
            next_alias: 0,
        }
    }

    /// The declared track of `alias`.
    pub fn track(&self, alias: u64) -> Option<&FrameTrack> {
        self.published.get(&alias)
    }
}

impl Shared {
    /// Starts `sub` receiving `track` of `publisher` (if both are QUIC peers
    /// and the track is declared): an alias, a `media-track` event, and a
    /// keyframe request when no fresh keyframe group is cached.
    pub fn start_receiving(
        &mut self,
        sub: &PeerId,
        publisher: &PeerId,
        track: &TrackId,
        now: Instant,
    ) {
        let Some(info) = self.declared(publisher, track).cloned() else {
            return;
        };
        let Some(s) = self.peers.get_mut(sub) else {
            return;
        };
        let key = (publisher.clone(), track.clone());
        let alias = match s.receiving.get(&key) {
            Some(r) => r.alias,
            None => {
                let alias = s.next_alias;
                s.next_alias += 1;
                s.receiving.insert(
                    key,
                    Receiving {
                        alias,
                        writer: None,
                    },
                );
                alias
            }
        };
        let _ = s.events.try_send(PeerEvent::MediaTrack {
            track: track.clone(),
            publisher: publisher.clone(),
            alias,
            kind: info.kind,
            codec: info.codec.clone(),
            timescale: info.timescale,
        });
        self.fanout.subscribe(sub, publisher, track, alias);
        if info.kind == TrackKind::Video && self.fanout.needs_keyframe(publisher, track, now) {
            self.request_keyframe(publisher, track, now);
        }
    }

    /// Asks the publisher of a track for a keyframe, throttled per track: a
    /// `keyframe-request` to a QUIC publisher, a crossing to the transport
    /// of any other.
    pub fn request_keyframe(&mut self, publisher: &PeerId, track: &TrackId, now: Instant) {
        if !self.throttle.allow((publisher.clone(), track.clone()), now) {
            return;
        }
        match self.peers.get(publisher) {
            Some(p) => {
                if let Some(t) = p.published.values().find(|t| &t.track == track) {
                    let _ = p
                        .events
                        .try_send(PeerEvent::KeyframeRequest { alias: t.alias });
                }
            }
            None => {
                if let Some(b) = &self.bridge {
                    b.send(Crossing::KeyframeRequest {
                        publisher: publisher.clone(),
                        track: track.clone(),
                    });
                }
            }
        }
    }

    /// `sub` stops receiving the track: its writer ends its stream.
    pub fn stop_receiving(&mut self, sub: &PeerId, publisher: &PeerId, track: &TrackId) {
        self.fanout.unsubscribe(sub, publisher, track);
        if let Some(s) = self.peers.get_mut(sub)
            && let Some(r) = s.receiving.remove(&(publisher.clone(), track.clone()))
        {
            let _ = s
                .events
                .try_send(PeerEvent::MediaTrackEnd { alias: r.alias });
        }
    }

    /// A track's declaration: its QUIC publisher's, or the one made for a
    /// track crossing from another transport.
    pub fn declared(&self, publisher: &PeerId, track: &TrackId) -> Option<&FrameTrack> {
        match self.peers.get(publisher) {
            Some(p) => p.published.values().find(|t| &t.track == track),
            None => self.foreign.get(&(publisher.clone(), track.clone())),
        }
    }
}
