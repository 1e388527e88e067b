//! The signalling half of the core: attach/detach, the publish offer, the
//! subscribe offer/answer cycle, remote candidates and plan changes.

use std::collections::HashSet;
use std::time::Instant;

use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, RoomId, TrackId};
use caucus_media::{ForwardingPlan, PeerEvent, SessionDescription, Target, TransportError};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid};
use tokio::sync::mpsc;

use super::Sfu;
use super::peer::{Line, Peer, Published, TrackKey};
use crate::conn::Conn;
use crate::forward::Forwarding;
use crate::sdp;

/// The label of the data channel the 100ms web SDK expects.
const DATA_CHANNEL: &str = "ion-sfu";

impl Sfu {
    /// Opens the peer's session (a subscribe connection, offered at once
    /// with the `ion-sfu` channel and what the plan gives the peer), or, for
    /// a known peer, swaps in the new event sender and re-sends a pending
    /// subscribe offer.
    pub fn attach(
        &mut self,
        room: &RoomId,
        peer: &PeerId,
        events: mpsc::Sender<PeerEvent>,
        now: Instant,
    ) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.events = events;
            if let Some((_, sdp)) = &p.pending {
                p.emit(PeerEvent::SubscribeOffer(SessionDescription::offer(
                    sdp.clone(),
                )));
            }
            return;
        }
        let mut p = Peer::new(room.clone(), events);
        p.subscribe = Some(Conn::new(Target::Subscribe, &self.candidates, now));
        self.peers.insert(peer.clone(), p);
        self.reconcile(peer, true, now);
        self.process(now);
    }

    /// Closes both connections and forgets the peer.
    pub fn detach(&mut self, peer: &PeerId, now: Instant) {
        let Some(mut p) = self.peers.remove(peer) else {
            return;
        };
        for conn in [p.publish.as_mut(), p.subscribe.as_mut()]
            .into_iter()
            .flatten()
        {
            conn.rtc.disconnect();
            let mut events = Vec::new();
            conn.drain(now, &mut self.outbox, &mut events);
        }
        self.by_addr.retain(|_, (id, _)| id != peer);
        self.queue.retain(|(id, _, _)| id != peer);
    }

    /// Answers the client's (re)offer on its publish connection.
    pub fn publish_offer(
        &mut self,
        peer: &PeerId,
        offer: &SessionDescription,
        now: Instant,
    ) -> Result<SessionDescription, TransportError> {
        if offer.kind != "offer" {
            return Err(TransportError::InvalidSdp(format!(
                "expected an offer, got {:?}",
                offer.kind
            )));
        }
        let parsed = SdpOffer::from_sdp_string(&offer.sdp)
            .map_err(|e| TransportError::InvalidSdp(e.to_string()))?;
        let tracks = sdp::msid_tracks(&offer.sdp);
        let candidates = self.candidates.clone();
        let p = self
            .peers
            .get_mut(peer)
            .ok_or_else(|| TransportError::UnknownPeer(peer.to_string()))?;
        let fresh = p.publish.is_none();
        let conn = p
            .publish
            .get_or_insert_with(|| Conn::new(Target::Publish, &candidates, now));
        let answer = match conn.rtc.sdp_api().accept_offer(parsed) {
            Ok(a) => a,
            Err(e) => {
                if fresh {
                    p.publish = None;
                } else {
                    let mut events = Vec::new();
                    conn.drain(now, &mut self.outbox, &mut events);
                }
                return Err(TransportError::InvalidSdp(e.to_string()));
            }
        };
        for c in p.queued.drain(..) {
            conn.rtc.add_remote_candidate(c);
        }
        // Which track each m-line carries, keeping what is known of tracks
        // that stay on their mid.
        let mut published = std::mem::take(&mut p.published);
        for (mid, track) in tracks {
            let mid = Mid::from(mid.as_str());
            let Some(media) = conn.rtc.media(mid) else {
                continue;
            };
            let video = media.kind() == MediaKind::Video;
            let Ok(track) = TrackId::new(track.clone()) else {
                tracing::warn!(%peer, %track, "msid track id refused");
                continue;
            };
            let entry = match published.remove(&mid) {
                Some(old) if old.track == track => old,
                _ => Published {
                    track,
                    video,
                    flowing: false,
                    layers: Default::default(),
                },
            };
            p.published.insert(mid, entry);
        }
        p.ssrcs.clear();
        self.drain(peer, Target::Publish, now);
        self.process(now);
        Ok(SessionDescription::answer(answer.to_sdp_string()))
    }

    /// Applies the client's answer to the pending subscribe offer.
    pub fn subscribe_answer(
        &mut self,
        peer: &PeerId,
        answer: &SessionDescription,
        now: Instant,
    ) -> Result<(), TransportError> {
        if answer.kind != "answer" {
            return Err(TransportError::InvalidSdp(format!(
                "expected an answer, got {:?}",
                answer.kind
            )));
        }
        let p = self
            .peers
            .get_mut(peer)
            .ok_or_else(|| TransportError::UnknownPeer(peer.to_string()))?;
        let conn = p
            .subscribe
            .as_mut()
            .ok_or(TransportError::NoConnection(Target::Subscribe))?;
        let parsed = SdpAnswer::from_sdp_string(&answer.sdp)
            .map_err(|e| TransportError::InvalidSdp(e.to_string()))?;
        let (pending, _) = p.pending.take().ok_or_else(|| {
            TransportError::WrongState("no subscribe offer is awaiting an answer".into())
        })?;
        let result = conn.rtc.sdp_api().accept_answer(pending, parsed);
        if let Err(e) = result {
            // The offer is spent: forget the m-lines it added and offer anew.
            p.lines.retain(|_, l| l.active);
            let mut events = Vec::new();
            conn.drain(now, &mut self.outbox, &mut events);
            self.reconcile(peer, false, now);
            self.process(now);
            return Err(TransportError::InvalidSdp(e.to_string()));
        }
        let connected = conn.connected;
        let mut fresh = Vec::new();
        for (key, line) in p.lines.iter_mut().filter(|(_, l)| !l.active) {
            line.active = true;
            // S1: a send m-line without an SSRC gets one declared.
            let mut api = conn.rtc.direct_api();
            if api.stream_tx_by_mid(line.mid, None).is_none() {
                let ssrc = api.new_ssrc();
                let rtx = (line.kind == TrackKind::Video).then(|| api.new_ssrc());
                api.declare_stream_tx(ssrc, rtx, line.mid, None);
            }
            if line.kind == TrackKind::Video {
                fresh.push(key.clone());
            }
        }
        let again = std::mem::take(&mut p.renegotiate);
        self.drain(peer, Target::Subscribe, now);
        if connected {
            for (publisher, track) in fresh {
                self.request_keyframe(&publisher, &track, None, now);
            }
        }
        if again {
            self.reconcile(peer, false, now);
        }
        self.process(now);
        Ok(())
    }

    /// A remote candidate; queued while the publish connection is missing.
    pub fn trickle(
        &mut self,
        peer: &PeerId,
        target: Target,
        candidate: &str,
        now: Instant,
    ) -> Result<(), TransportError> {
        let p = self
            .peers
            .get_mut(peer)
            .ok_or_else(|| TransportError::UnknownPeer(peer.to_string()))?;
        let Some(candidate) = sdp::parse_candidate(candidate)? else {
            return Ok(());
        };
        let conn = match target {
            Target::Publish => p.publish.as_mut(),
            Target::Subscribe => p.subscribe.as_mut(),
        };
        match conn {
            Some(c) => c.rtc.add_remote_candidate(candidate),
            None if target == Target::Publish => {
                p.queued.push(candidate);
                return Ok(());
            }
            None => return Err(TransportError::NoConnection(target)),
        }
        self.drain(peer, target, now);
        self.process(now);
        Ok(())
    }

    /// Replaces a room's plan: changed peers get new subscribe offers;
    /// packets follow the new routes from the next one on.
    pub fn set_plan(&mut self, room: &RoomId, plan: ForwardingPlan, now: Instant) {
        let diffs = self.router.set_plan(room, plan);
        self.prune_crossings();
        for d in diffs {
            if self.peers.get(&d.peer).is_some_and(|p| &p.room == room) {
                self.reconcile(&d.peer, false, now);
            }
        }
        self.process(now);
    }

    /// Brings the peer's subscribe m-lines to what the plan says: removed
    /// tracks stop at once (their m-lines are stopped), new ones are added;
    /// one offer at a time, the rest after its answer.
    pub(super) fn reconcile(&mut self, peer: &PeerId, first: bool, now: Instant) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        let Some(conn) = p.subscribe.as_mut() else {
            return;
        };
        if p.pending.is_some() {
            p.renegotiate = true;
            return;
        }
        let wanted: Vec<(TrackKey, TrackKind, String)> = self
            .router
            .plan(&p.room)
            .map(|plan| {
                plan.received_by(peer)
                    .map(|(id, t)| {
                        (
                            (t.publisher.clone(), id.clone()),
                            t.kind,
                            t.stream_id.to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let keys: HashSet<&TrackKey> = wanted.iter().map(|(k, _, _)| k).collect();
        let gone: Vec<TrackKey> = p
            .lines
            .keys()
            .filter(|k| !keys.contains(k))
            .cloned()
            .collect();
        let mut api = conn.rtc.sdp_api();
        if first {
            api.add_channel(DATA_CHANNEL.into());
        }
        for key in gone {
            if let Some(line) = p.lines.remove(&key) {
                api.stop_media(line.mid);
            }
        }
        for (key, kind, stream) in wanted {
            if p.lines.contains_key(&key) {
                continue;
            }
            let media = match kind {
                TrackKind::Audio => MediaKind::Audio,
                TrackKind::Video => MediaKind::Video,
            };
            let mid = api.add_media(
                media,
                Direction::SendOnly,
                Some(stream),
                Some(key.1.to_string()),
                None,
            );
            p.lines.insert(
                key,
                Line {
                    mid,
                    kind,
                    active: false,
                    fwd: Forwarding::default(),
                },
            );
        }
        if let Some((offer, pending)) = api.apply() {
            let sdp = offer.to_sdp_string();
            p.pending = Some((pending, sdp.clone()));
            p.emit(PeerEvent::SubscribeOffer(SessionDescription::offer(sdp)));
        }
        self.drain(peer, Target::Subscribe, now);
    }
}
