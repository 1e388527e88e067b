//! The sans-IO SFU: every `Rtc`, the media router and the keyframe throttle,
//! driven by `handle_*(…, now)` calls; datagrams leave through
//! [`Sfu::poll_transmit`], and [`Sfu::poll_timeout`] says when to call
//! [`Sfu::handle_timeout`]. No sockets, tasks or clock in here.
//!
//! After every mutation of an `Rtc` the core drains it to `Timeout`
//! ([`Sfu::drain`]); the events drained are queued and handled in order by
//! [`Sfu::process`], which may mutate other `Rtc`s (forwarding a packet,
//! asking a publisher for a keyframe) and drains each right after.

mod bridge;
mod channel;
mod media;
mod peer;
mod signal;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use caucus_domain::{PeerId, TrackId};
use caucus_media::{Crossing, KeyframeThrottle, PeerEvent, Router, Target};
use str0m::media::Rid;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Event, Input};

use crate::config::WebRtcConfig;
use crate::conn::{Conn, Health};
use crate::stats::Stats;
use peer::Peer;

/// The whole SFU state, owned by one driver.
#[derive(Debug)]
pub struct Sfu {
    config: WebRtcConfig,
    /// Host candidates (advertised address + bound port).
    candidates: Vec<SocketAddr>,
    peers: HashMap<PeerId, Peer>,
    router: Router,
    throttle: KeyframeThrottle<(PeerId, TrackId, Option<Rid>)>,
    stats: Arc<Stats>,
    /// Source address → the connection that last accepted it.
    by_addr: HashMap<SocketAddr, (PeerId, Target)>,
    outbox: VecDeque<Transmit>,
    queue: VecDeque<(PeerId, Target, Event)>,
    /// Media across transports (§9): conversions per track, and what waits
    /// for the other transport.
    crossing_out: HashMap<peer::TrackKey, bridge::Outgoing>,
    crossing_in: HashMap<peer::TrackKey, bridge::Incoming>,
    crossings: VecDeque<Crossing>,
}

impl Sfu {
    pub fn new(config: WebRtcConfig, candidates: Vec<SocketAddr>, stats: Arc<Stats>) -> Self {
        Self {
            throttle: KeyframeThrottle::new(config.keyframe_interval),
            config,
            candidates,
            peers: HashMap::new(),
            router: Router::new(),
            stats,
            by_addr: HashMap::new(),
            outbox: VecDeque::new(),
            queue: VecDeque::new(),
            crossing_out: HashMap::new(),
            crossing_in: HashMap::new(),
            crossings: VecDeque::new(),
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limit = self.config.disconnect_timeout;
        self.conns()
            .filter(|c| !c.failed)
            .map(|c| c.deadline(limit))
            .min()
    }

    fn conns(&self) -> impl Iterator<Item = &Conn> {
        self.peers
            .values()
            .flat_map(|p| p.publish.iter().chain(p.subscribe.iter()))
    }

    /// A datagram arrived on the socket.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &[u8],
    ) {
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, buf) else {
            tracing::trace!(%source, "not a WebRTC datagram; dropped");
            return;
        };
        let input = Input::Receive(now, receive);
        let Some((peer, target)) = self.owner(&input, source) else {
            tracing::trace!(%source, "no connection accepts the datagram");
            return;
        };
        let Some(conn) = self.conn_mut(&peer, target) else {
            return;
        };
        if let Err(e) = conn.rtc.handle_input(input) {
            tracing::debug!(%source, error = %e, "input refused");
        }
        self.drain(&peer, target, now);
        self.process(now);
    }

    /// Which connection owns `input`: the cached one for its source, else
    /// the first that `accepts` it.
    fn owner(&mut self, input: &Input, source: SocketAddr) -> Option<(PeerId, Target)> {
        if let Some((peer, target)) = self.by_addr.get(&source)
            && let Some(c) = self.conn(peer, *target)
            && !c.failed
            && c.rtc.accepts(input)
        {
            return Some((peer.clone(), *target));
        }
        let found = self.peers.iter().find_map(|(id, p)| {
            [&p.publish, &p.subscribe]
                .into_iter()
                .flatten()
                .find(|c| !c.failed && c.rtc.accepts(input))
                .map(|c| (id.clone(), c.target))
        })?;
        self.by_addr.insert(source, found.clone());
        Some(found)
    }

    fn conn(&self, peer: &PeerId, target: Target) -> Option<&Conn> {
        let p = self.peers.get(peer)?;
        match target {
            Target::Publish => p.publish.as_ref(),
            Target::Subscribe => p.subscribe.as_ref(),
        }
    }

    fn conn_mut(&mut self, peer: &PeerId, target: Target) -> Option<&mut Conn> {
        let p = self.peers.get_mut(peer)?;
        match target {
            Target::Publish => p.publish.as_mut(),
            Target::Subscribe => p.subscribe.as_mut(),
        }
    }

    /// Time passed: feed due connections their timeouts; fail those ICE-
    /// disconnected for too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        let limit = self.config.disconnect_timeout;
        let mut due = Vec::new();
        for (id, p) in &self.peers {
            for c in [&p.publish, &p.subscribe].into_iter().flatten() {
                if !c.failed && c.deadline(limit) <= now {
                    due.push((id.clone(), c.target));
                }
            }
        }
        for (peer, target) in due {
            let Some(conn) = self.conn_mut(&peer, target) else {
                continue;
            };
            if let Some(reason) = conn.check_disconnect(now, limit) {
                self.fail(&peer, target, reason);
                continue;
            }
            if let Err(e) = conn.handle_timeout(now) {
                tracing::debug!(%peer, ?target, error = %e, "timeout refused");
            }
            self.drain(&peer, target, now);
        }
        self.process(now);
    }

    /// Drains one connection (str0m's invariant after every mutation):
    /// datagrams to the outbox, events to the queue, and reports a
    /// connection that came up or failed.
    fn drain(&mut self, peer: &PeerId, target: Target, now: Instant) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        let conn = match target {
            Target::Publish => p.publish.as_mut(),
            Target::Subscribe => p.subscribe.as_mut(),
        };
        let Some(conn) = conn else {
            return;
        };
        if conn.failed {
            return;
        }
        let mut events = Vec::new();
        let health = conn.drain(now, &mut self.outbox, &mut events);
        for e in events {
            self.queue.push_back((peer.clone(), target, e));
        }
        match health {
            Health::Alive => {}
            Health::JustConnected => {
                p.emit(PeerEvent::Connected { target });
                if target == Target::Subscribe {
                    self.keyframes_for_subscriber(peer, now);
                }
            }
            Health::Failed(reason) => self.fail(peer, target, reason),
        }
    }

    /// Marks a connection failed (once) and tells the signalling.
    fn fail(&mut self, peer: &PeerId, target: Target, reason: String) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        let conn = match target {
            Target::Publish => p.publish.as_mut(),
            Target::Subscribe => p.subscribe.as_mut(),
        };
        if let Some(c) = conn
            && !c.failed
        {
            c.failed = true;
            tracing::info!(%peer, ?target, %reason, "connection failed");
            p.emit(PeerEvent::Failed { target, reason });
        }
    }

    /// Handles queued events until none is left.
    fn process(&mut self, now: Instant) {
        while let Some((peer, target, event)) = self.queue.pop_front() {
            match (target, event) {
                (Target::Publish, Event::RtpPacket(pkt)) => self.on_rtp(&peer, pkt, now),
                (Target::Subscribe, Event::KeyframeRequest(req)) => {
                    self.on_keyframe_request(&peer, req, now)
                }
                (Target::Subscribe, Event::ChannelData(d)) => self.on_channel(&peer, d, now),
                (_, Event::IceConnectionStateChange(s)) => {
                    tracing::debug!(%peer, ?target, ?s, "ICE state");
                }
                _ => {}
            }
        }
    }
}
