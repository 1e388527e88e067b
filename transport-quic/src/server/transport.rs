//! [`QuicTransport`]: the server's QUIC media as the signalling sees it
//! (the `caucus_media::Transport` trait), and the fan-out path that group
//! streams from publishers take.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, RoomId, TrackId};
use caucus_media::{
    Bridge, BridgedTrack, Codec, Crossing, ForwardingPlan, Frame, FrameTrack, IceCandidate,
    PeerEvent, SessionDescription, Target, Transport, TransportError,
};
use tokio::sync::mpsc;

use super::state::{PeerMedia, Shared};
use super::writer::{Backpressure, Writer};
use crate::codec::{Datagram, Object};

/// How many events a peer's session may leave unread.
const EVENTS: usize = 256;

/// The QUIC media of one server. Cheap to share.
#[derive(Debug, Default)]
pub struct QuicTransport {
    shared: Arc<Mutex<Shared>>,
}

fn no_sdp() -> TransportError {
    TransportError::WrongState("QUIC peers publish with `publish`, not SDP".into())
}

impl QuicTransport {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The track id a publisher's alias names, if declared.
    pub(crate) fn track_of(&self, publisher: &PeerId, alias: u64) -> Option<TrackId> {
        self.lock()
            .peers
            .get(publisher)?
            .track(alias)
            .map(|t| t.track.clone())
    }

    /// Fans one object out to the track's receivers now: audio as a
    /// datagram to receivers whose connection takes datagrams (§5.3), the
    /// rest on group streams (encoded once for all of them).
    pub(crate) fn forward(
        &self,
        publisher: &PeerId,
        track: &TrackId,
        group: u64,
        index: u64,
        object: Object,
    ) {
        let mut s = self.lock();
        let s = &mut *s;
        let (mut targets, audio) = match s.router.route(publisher, track) {
            Some(r) => (r.targets().to_vec(), r.track.kind == TrackKind::Audio),
            None => return,
        };
        if s.peers.contains_key(publisher) && targets.iter().any(|t| !s.peers.contains_key(t)) {
            // Someone another transport serves receives it (§9).
            cross_out(s, publisher, track, group, index, &object);
        }
        let key = (publisher.clone(), track.clone());
        if audio {
            targets.retain(|sub| {
                let (Some(conn), Some(r)) = (
                    s.conns.get(sub),
                    s.peers.get(sub).and_then(|p| p.receiving.get(&key)),
                ) else {
                    return true;
                };
                let d = Datagram {
                    alias: r.alias,
                    group,
                    object: index,
                    timestamp: object.timestamp,
                    payload: object.payload.clone(),
                };
                let mut buf = Vec::with_capacity(object.payload.len() + 16);
                // `max_datagram_size` is 0 when the receiver takes none.
                let fits = d.encode(&mut buf).is_ok() && conn.max_datagram_size() >= buf.len();
                if fits {
                    // A datagram that does not fit the congestion window is
                    // dropped (§6): a lost Opus frame is concealed.
                    let _ = conn.send_datagram(buf.into());
                }
                !fits
            });
            if targets.is_empty() {
                return;
            }
        }
        let mut buf = Vec::with_capacity(object.payload.len() + 12);
        if object.encode(&mut buf).is_err() {
            return;
        }
        let now = Instant::now();
        let steps = s.fanout.on_object(
            publisher,
            track,
            group,
            index,
            object.keyframe,
            buf.into(),
            &targets,
            now,
        );
        if s.fanout.starved(publisher, track, &targets, now) {
            s.request_keyframe(publisher, track, now);
        }
        for (sub, step) in steps {
            let Some(conn) = s.conns.get(&sub) else {
                continue;
            };
            let Some(r) = s
                .peers
                .get_mut(&sub)
                .and_then(|p| p.receiving.get_mut(&key))
            else {
                continue;
            };
            let w = r.writer.get_or_insert_with(|| Writer::spawn(conn.clone()));
            match w.push(step) {
                Ok(()) => {}
                Err(Backpressure::Full) => s.fanout.restart(&sub, publisher, track),
                Err(Backpressure::Gone) => {
                    r.writer = None;
                    s.fanout.restart(&sub, publisher, track);
                }
            }
        }
    }

    /// Sends this transport's crossings (its publishers' frames for peers
    /// another transport serves, keyframe requests for tracks published
    /// there) to `other` (docs/quic-protocol.md §9).
    pub fn set_bridge(&self, other: Arc<dyn Bridge>) {
        self.lock().bridge = Some(other);
    }

    /// Where another transport sends its crossings to this one: a task
    /// (on the calling runtime) takes them in order; under overload they
    /// are dropped. The task ends with the inlet or the transport.
    pub fn bridge_inlet(self: &Arc<Self>) -> Arc<dyn Bridge> {
        let (tx, mut rx) = mpsc::channel(CROSSINGS);
        let transport = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(c) = rx.recv().await {
                let Some(t) = transport.upgrade() else {
                    return;
                };
                t.cross_in(c);
            }
        });
        Arc::new(Inlet { tx })
    }

    /// Something from the other transport: a frame of a track published
    /// there (declared here on first sight, so that QUIC subscribers get its
    /// `media-track`), or a request for a keyframe of a track published here.
    fn cross_in(&self, crossing: Crossing) {
        match crossing {
            Crossing::Frame { track, frame } => {
                {
                    let mut s = self.lock();
                    let s = &mut *s;
                    let Some(route) = s.router.route(&track.publisher, &track.track).cloned()
                    else {
                        return;
                    };
                    let key = (track.publisher.clone(), track.track.clone());
                    let known = s.foreign.get(&key).is_some_and(|d| {
                        d.codec == track.codec.name() && d.timescale == track.timescale
                    });
                    if !known {
                        let declared = FrameTrack {
                            track: track.track.clone(),
                            alias: 0,
                            kind: track.codec.kind(),
                            codec: track.codec.name().to_owned(),
                            timescale: track.timescale,
                        };
                        s.fanout
                            .declare(&track.publisher, &track.track, declared.kind);
                        s.foreign.insert(key, declared);
                        let now = Instant::now();
                        for sub in &route.subscribers {
                            s.start_receiving(sub, &track.publisher, &track.track, now);
                        }
                    }
                }
                let object = Object {
                    timestamp: frame.timestamp,
                    keyframe: frame.keyframe,
                    payload: frame.payload,
                };
                self.forward(
                    &track.publisher,
                    &track.track,
                    frame.group,
                    frame.object,
                    object,
                );
            }
            Crossing::KeyframeRequest { publisher, track } => {
                let mut s = self.lock();
                // Only for this transport's publishers: never sent back.
                if s.peers.contains_key(&publisher) {
                    s.request_keyframe(&publisher, &track, Instant::now());
                }
            }
        }
    }

    /// A connection speaks for `peer` now (its `hello` was accepted).
    pub(crate) fn bind(&self, peer: &PeerId, conn: web_transport_quinn::Session) {
        self.lock().conns.insert(peer.clone(), conn);
    }

    /// The connection closed: forget it if it is still the peer's.
    pub(crate) fn unbind(&self, peer: &PeerId, conn: &web_transport_quinn::Session) {
        let mut s = self.lock();
        if s.conns
            .get(peer)
            .is_some_and(|c| c.stable_id() == conn.stable_id())
        {
            s.conns.remove(peer);
        }
    }
}

/// Crossings from the other transport waiting for the inlet's task.
const CROSSINGS: usize = 1024;

/// The other transport's way in.
#[derive(Debug)]
struct Inlet {
    tx: mpsc::Sender<Crossing>,
}

impl Bridge for Inlet {
    fn send(&self, crossing: Crossing) {
        let _ = self.tx.try_send(crossing);
    }
}

/// Hands a QUIC publisher's frame to the other transport, when its codec
/// crosses (§9).
fn cross_out(
    s: &Shared,
    publisher: &PeerId,
    track: &TrackId,
    group: u64,
    index: u64,
    object: &Object,
) {
    let (Some(bridge), Some(declared)) = (&s.bridge, s.declared(publisher, track)) else {
        return;
    };
    let Some(codec) = Codec::from_name(&declared.codec) else {
        return;
    };
    bridge.send(Crossing::Frame {
        track: BridgedTrack {
            publisher: publisher.clone(),
            track: track.clone(),
            codec,
            timescale: declared.timescale,
        },
        frame: Frame {
            group,
            object: index,
            timestamp: object.timestamp,
            keyframe: object.keyframe,
            payload: object.payload.clone(),
        },
    });
}

#[async_trait]
impl Transport for QuicTransport {
    async fn attach(
        &self,
        room: &RoomId,
        peer: &PeerId,
    ) -> Result<mpsc::Receiver<PeerEvent>, TransportError> {
        let (tx, rx) = mpsc::channel(EVENTS);
        let mut s = self.lock();
        let s = &mut *s;
        match s.peers.get_mut(peer) {
            Some(p) => {
                // A reconnect: new events channel, new streams.
                p.events = tx;
                for ((publisher, track), r) in &mut p.receiving {
                    r.writer = None;
                    s.fanout.restart(peer, publisher, track);
                }
            }
            None => {
                s.peers.insert(peer.clone(), PeerMedia::new(tx));
            }
        }
        let received: Vec<(PeerId, TrackId)> = s
            .router
            .plan(room)
            .map(|plan| {
                plan.received_by(peer)
                    .map(|(id, t)| (t.publisher.clone(), id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let now = Instant::now();
        for (publisher, track) in received {
            s.start_receiving(peer, &publisher, &track, now);
        }
        Ok(rx)
    }

    async fn publish_offer(
        &self,
        _peer: &PeerId,
        _offer: &SessionDescription,
    ) -> Result<SessionDescription, TransportError> {
        Err(no_sdp())
    }

    async fn subscribe_answer(
        &self,
        _peer: &PeerId,
        _answer: &SessionDescription,
    ) -> Result<(), TransportError> {
        Err(no_sdp())
    }

    async fn trickle(
        &self,
        _peer: &PeerId,
        _target: Target,
        _candidate: &IceCandidate,
    ) -> Result<(), TransportError> {
        Err(no_sdp())
    }

    async fn set_plan(&self, room: &RoomId, plan: ForwardingPlan) {
        let mut s = self.lock();
        let s = &mut *s;
        let diffs = s.router.set_plan(room, plan);
        let router = &s.router;
        let fanout = &mut s.fanout;
        s.foreign.retain(|(p, t), _| {
            let keep = router.route(p, t).is_some();
            if !keep {
                fanout.forget_track(p, t);
            }
            keep
        });
        let now = Instant::now();
        for d in diffs {
            if !s.peers.contains_key(&d.peer) {
                continue; // another transport's peer
            }
            for (track, t) in &d.added {
                s.start_receiving(&d.peer, &t.publisher, track, now);
            }
            for track in &d.removed {
                let publisher = s.peers[&d.peer]
                    .receiving
                    .keys()
                    .find(|(_, t)| t == track)
                    .map(|(p, _)| p.clone());
                if let Some(publisher) = publisher {
                    s.stop_receiving(&d.peer, &publisher, track);
                }
            }
        }
    }

    async fn detach(&self, peer: &PeerId) {
        let mut s = self.lock();
        s.peers.remove(peer);
        s.fanout.forget_peer(peer);
        for p in s.peers.values_mut() {
            p.receiving.retain(|(publisher, _), _| publisher != peer);
        }
    }

    async fn declare_tracks(
        &self,
        peer: &PeerId,
        tracks: Vec<FrameTrack>,
    ) -> Result<(), TransportError> {
        let mut s = self.lock();
        let s = &mut *s;
        let p = s
            .peers
            .get_mut(peer)
            .ok_or_else(|| TransportError::UnknownPeer(peer.to_string()))?;
        let old = std::mem::take(&mut p.published);
        for t in old.values() {
            if !tracks.iter().any(|n| n.track == t.track) {
                s.fanout.forget_track(peer, &t.track);
            }
        }
        for t in tracks {
            s.fanout.declare(peer, &t.track, t.kind);
            p.published.insert(t.alias, t);
        }
        Ok(())
    }
}
