//! The packet path of the core: fan-out of published RTP to subscribers by
//! the router's routes, and keyframe requests going upstream (throttled).

use std::sync::Arc;
use std::time::Instant;

use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, TrackId};
use caucus_media::{Crossing, PeerEvent, Target};
use str0m::format::{CodecSpec, PayloadParams};
use str0m::media::{KeyframeRequest, KeyframeRequestKind, Pt, Rid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, SeqNo};

use super::Sfu;
use crate::forward::{self, Layers, MidRid};
use crate::keyframe::starts_keyframe;

/// One packet on its way to subscribers, with what the per-subscriber
/// decisions need.
pub(super) struct Packet<'a> {
    pub rid: Option<Rid>,
    pub layers: &'a Layers,
    /// The publisher's payload type (the key of each line's PT mapping).
    pub pt: Pt,
    pub spec: CodecSpec,
    pub seq: SeqNo,
    pub timestamp: u32,
    /// When it arrived (or was made, for media from another transport).
    pub at: Instant,
    pub payload: Arc<[u8]>,
    pub marker: bool,
    pub ext: ExtensionValues,
    pub video: bool,
}

impl Sfu {
    /// An RTP packet of one of `publisher`'s tracks: forward it to every
    /// subscriber the route lists now (nobody while muted), on the layer
    /// each subscriber receives.
    pub(super) fn on_rtp(&mut self, publisher: &PeerId, pkt: RtpPacket, now: Instant) {
        self.stats.received(pkt.payload.len());
        let Some((mid, rid)) = self.mid_rid(publisher, &pkt, now) else {
            return;
        };
        let Some(p) = self.peers.get_mut(publisher) else {
            return;
        };
        let Some(published) = p.published.get_mut(&mid) else {
            return;
        };
        let track = published.track.clone();
        let video = published.video;
        let first = !std::mem::replace(&mut published.flowing, true);
        published.layers.saw(rid);
        let layers = published.layers.clone();
        if first {
            p.emit(PeerEvent::TrackFlowing {
                track: track.clone(),
            });
        }
        let Some(route) = self.router.route(publisher, &track).cloned() else {
            return;
        };
        if route.targets().is_empty() {
            return;
        }
        // The publisher's codec of this packet, fetched once for PT mapping
        // and keyframe detection.
        let pt = pkt.header.payload_type;
        let source: Option<PayloadParams> = self
            .peers
            .get(publisher)
            .and_then(|p| p.publish.as_ref())
            .and_then(|pc| {
                pc.rtc
                    .codec_config()
                    .params()
                    .iter()
                    .find(|p| p.pt() == pt)
                    .copied()
            });
        let Some(source) = source else {
            return;
        };
        let pkt = Packet {
            rid,
            layers: &layers,
            pt,
            spec: source.spec(),
            seq: pkt.seq_no,
            timestamp: pkt.header.timestamp,
            at: pkt.timestamp,
            payload: pkt.payload.clone(),
            marker: pkt.header.marker,
            ext: forward::carried_extensions(&pkt.header.ext_vals),
            video,
        };
        if route.targets().iter().any(|t| !self.peers.contains_key(t)) {
            // Someone another transport serves receives it (§9).
            self.cross_out(publisher, &track, &pkt, now);
        }
        self.fan_out(publisher, &track, route.targets(), pkt, now);
    }

    /// Writes one packet of `publisher`'s track to each of `targets` this
    /// core serves, on the layer each receives, rewritten for its stream.
    pub(super) fn fan_out(
        &mut self,
        publisher: &PeerId,
        track: &TrackId,
        targets: &[PeerId],
        pkt: Packet<'_>,
        now: Instant,
    ) {
        let mut keyframe: Option<bool> = None;
        let mut is_keyframe =
            || *keyframe.get_or_insert_with(|| starts_keyframe(pkt.spec.codec, &pkt.payload));
        let key = (publisher.clone(), track.clone());
        let mut wanted_keyframes: Vec<Option<Rid>> = Vec::new();
        for target in targets {
            let Some(s) = self.peers.get_mut(target) else {
                continue;
            };
            let Some(conn) = s.subscribe.as_mut() else {
                continue;
            };
            if !conn.connected || conn.failed {
                continue;
            }
            let Some(line) = s.lines.get_mut(&key) else {
                continue;
            };
            if !line.active || line.fwd.paused {
                continue;
            }
            let Some(want) = forward::target_layer(pkt.layers, line.fwd.max_rank) else {
                continue;
            };
            let admit = line.fwd.admit(pkt.rid, want, &mut is_keyframe);
            if let Some(layer) = admit.keyframe
                && !wanted_keyframes.contains(&layer)
            {
                wanted_keyframes.push(layer);
            }
            if !admit.forward {
                continue;
            }
            let out_pt = match line.fwd.pts.iter().find(|(i, _)| *i == pkt.pt) {
                Some((_, o)) => *o,
                None => {
                    let to_pts = conn
                        .rtc
                        .media(line.mid)
                        .map(|m| m.remote_pts().to_vec())
                        .unwrap_or_default();
                    let Some(o) = forward::map_spec(&pkt.spec, conn.rtc.codec_config(), &to_pts)
                    else {
                        tracing::debug!(%target, pt = ?pkt.pt, "no matching codec on the subscriber");
                        continue;
                    };
                    line.fwd.pts.push((pkt.pt, o));
                    o
                }
            };
            let (seq, ts) = line.fwd.rewrite(pkt.seq, pkt.timestamp, pkt.at);
            let mut api = conn.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(line.mid, None) else {
                continue;
            };
            tx.write_rtp(
                RtpWrite::new(out_pt, seq, ts, pkt.at, pkt.payload.clone())
                    .marker(pkt.marker)
                    .ext_vals(pkt.ext.clone())
                    .nackable(pkt.video),
            );
            self.stats.forwarded(pkt.payload.len());
            self.drain(target, Target::Subscribe, now);
        }
        for layer in wanted_keyframes {
            self.request_keyframe(publisher, track, layer, now);
        }
    }

    /// The (mid, rid) of an incoming packet, from the cache or str0m's
    /// receive stream of its SSRC.
    fn mid_rid(&mut self, publisher: &PeerId, pkt: &RtpPacket, now: Instant) -> Option<MidRid> {
        let p = self.peers.get_mut(publisher)?;
        let ssrc = pkt.header.ssrc;
        if let Some(v) = p.ssrcs.get(&ssrc) {
            return Some(*v);
        }
        let conn = p.publish.as_mut()?;
        let mut api = conn.rtc.direct_api();
        let found = api
            .stream_rx(&ssrc)
            .map(|s| (s.mid(), s.rid()))
            .or_else(|| {
                pkt.header
                    .ext_vals
                    .mid
                    .map(|m| (m, pkt.header.ext_vals.rid))
            });
        if let Some(v) = found {
            p.ssrcs.insert(ssrc, v);
        }
        self.drain(publisher, Target::Publish, now);
        found
    }

    /// A subscriber asks for a keyframe of what it receives on `req.mid`.
    pub(super) fn on_keyframe_request(
        &mut self,
        subscriber: &PeerId,
        req: KeyframeRequest,
        now: Instant,
    ) {
        let Some(s) = self.peers.get(subscriber) else {
            return;
        };
        let Some(((publisher, track), line)) = s.lines.iter().find(|(_, l)| l.mid == req.mid)
        else {
            return;
        };
        let (publisher, track) = (publisher.clone(), track.clone());
        let layer = line.fwd.layer.flatten();
        self.request_keyframe_kind(&publisher, &track, layer, req.kind, now);
    }

    /// Asks for keyframes of every video track a subscriber receives (its
    /// connection just came up).
    pub(super) fn keyframes_for_subscriber(&mut self, subscriber: &PeerId, now: Instant) {
        let Some(s) = self.peers.get(subscriber) else {
            return;
        };
        let wanted: Vec<(PeerId, TrackId, Option<Rid>)> = s
            .lines
            .iter()
            .filter(|(_, l)| l.active && l.kind == TrackKind::Video)
            .map(|((p, t), l)| (p.clone(), t.clone(), l.fwd.layer.flatten()))
            .collect();
        for (publisher, track, layer) in wanted {
            self.request_keyframe(&publisher, &track, layer, now);
        }
    }

    /// A PLI upstream for a track (and layer), throttled.
    pub(super) fn request_keyframe(
        &mut self,
        publisher: &PeerId,
        track: &TrackId,
        layer: Option<Rid>,
        now: Instant,
    ) {
        self.request_keyframe_kind(publisher, track, layer, KeyframeRequestKind::Pli, now);
    }

    fn request_keyframe_kind(
        &mut self,
        publisher: &PeerId,
        track: &TrackId,
        layer: Option<Rid>,
        kind: KeyframeRequestKind,
        now: Instant,
    ) {
        if !self.peers.contains_key(publisher) {
            // Published on another transport (§9): the request crosses.
            if self
                .throttle
                .allow((publisher.clone(), track.clone(), layer), now)
            {
                self.crossings.push_back(Crossing::KeyframeRequest {
                    publisher: publisher.clone(),
                    track: track.clone(),
                });
            }
            return;
        }
        let Some(p) = self.peers.get_mut(publisher) else {
            return;
        };
        let Some(mid) = p.mid_of(track) else {
            return;
        };
        let Some(conn) = p.publish.as_mut() else {
            return;
        };
        if !conn.connected || conn.failed {
            return;
        }
        if !self
            .throttle
            .allow((publisher.clone(), track.clone(), layer), now)
        {
            return;
        }
        let mut api = conn.rtc.direct_api();
        let stream = match api.stream_rx_by_mid(mid, layer) {
            Some(s) => Some(s),
            // Before any packet of a layer, str0m may know only the mid.
            None => api.stream_rx_by_mid(mid, None),
        };
        let sent = stream.map(|s| s.request_keyframe(kind)).is_some();
        if sent {
            self.stats.keyframe_requested();
        }
        self.drain(publisher, Target::Publish, now);
    }
}
