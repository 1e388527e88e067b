//! Media across transports (docs/quic-protocol.md §9), in the core because
//! it is the side that speaks RTP: this core's publishers' RTP is
//! depacketized once per track for peers another transport serves, and
//! frames from another transport are packetized once per track and fanned
//! out to this core's subscribers like any published track.

use std::time::Instant;

use caucus_domain::{PeerId, TrackId};
use caucus_media::convert::{Codec, Depacketized, Depacketizer, Packetizer, RtpIn};
use caucus_media::{BridgedTrack, Crossing};
use str0m::format::{Codec as RtpCodec, CodecSpec, FormatParams};
use str0m::media::{Frequency, Pt};
use str0m::rtp::ExtensionValues;

use super::Sfu;
use super::media::Packet;
use crate::forward::{self, Forwarding, Layers};

/// One of this core's published tracks, as it leaves for another transport.
#[derive(Debug)]
pub struct Outgoing {
    track: BridgedTrack,
    /// The layer that crosses (the highest seen, as for a subscriber that
    /// asked for `high`) and the sequence rewriting across layer switches.
    fwd: Forwarding,
    depacketizer: Depacketizer,
}

/// A track published on another transport, as it arrives here.
#[derive(Debug)]
pub struct Incoming {
    packetizer: Packetizer,
    layers: Layers,
}

/// The key of crossed packets in each line's PT mapping: such a line only
/// ever carries its one track's codec, so any fixed value does.
const CROSSED_PT: u8 = 127;

fn codec_of(c: RtpCodec) -> Option<Codec> {
    match c {
        RtpCodec::Opus => Some(Codec::Opus),
        RtpCodec::Vp8 => Some(Codec::Vp8),
        _ => None,
    }
}

fn spec_of(c: Codec) -> CodecSpec {
    match c {
        Codec::Opus => CodecSpec {
            codec: RtpCodec::Opus,
            clock_rate: Frequency::FORTY_EIGHT_KHZ,
            channels: Some(2),
            format: FormatParams::default(),
        },
        Codec::Vp8 => CodecSpec {
            codec: RtpCodec::Vp8,
            clock_rate: Frequency::NINETY_KHZ,
            channels: None,
            format: FormatParams::default(),
        },
    }
}

impl Sfu {
    /// The next crossing for the other transport.
    pub fn poll_crossing(&mut self) -> Option<Crossing> {
        self.crossings.pop_front()
    }

    /// Something from the other transport.
    pub fn handle_crossing(&mut self, crossing: Crossing, now: Instant) {
        match crossing {
            Crossing::Frame { track, frame } => {
                let Some(route) = self.router.route(&track.publisher, &track.track).cloned() else {
                    return;
                };
                if route.targets().is_empty() {
                    return;
                }
                let key = (track.publisher.clone(), track.track.clone());
                let incoming = self.crossing_in.entry(key).or_insert_with(|| {
                    let mut layers = Layers::default();
                    layers.saw(None);
                    Incoming {
                        packetizer: Packetizer::new(track.codec, track.timescale),
                        layers,
                    }
                });
                if incoming.packetizer.codec() != track.codec {
                    incoming.packetizer = Packetizer::new(track.codec, track.timescale);
                }
                let packets = incoming
                    .packetizer
                    .packetize(frame.timestamp, &frame.payload);
                let layers = incoming.layers.clone();
                let video = track.codec.kind() == caucus_domain::room::model::TrackKind::Video;
                for p in packets {
                    let pkt = Packet {
                        rid: None,
                        layers: &layers,
                        pt: Pt::from(CROSSED_PT),
                        spec: spec_of(track.codec),
                        seq: p.seq.into(),
                        timestamp: p.timestamp,
                        at: now,
                        payload: p.payload.to_vec().into(),
                        marker: p.marker,
                        ext: ExtensionValues::default(),
                        video,
                    };
                    self.fan_out(&track.publisher, &track.track, route.targets(), pkt, now);
                }
            }
            Crossing::KeyframeRequest { publisher, track } => {
                if !self.peers.contains_key(&publisher) {
                    return; // not published here: never sent back
                }
                let layer = self
                    .crossing_out
                    .get(&(publisher.clone(), track.clone()))
                    .and_then(|o| o.fwd.layer.flatten());
                self.request_keyframe(&publisher, &track, layer, now);
            }
        }
        self.process(now);
    }

    /// A packet of one of this core's published tracks whose route lists a
    /// peer another transport serves: depacketized (one layer) into frames
    /// for it.
    pub(super) fn cross_out(
        &mut self,
        publisher: &PeerId,
        track: &TrackId,
        pkt: &Packet<'_>,
        now: Instant,
    ) {
        let Some(codec) = codec_of(pkt.spec.codec) else {
            return; // stays on this transport (§9)
        };
        let key = (publisher.clone(), track.clone());
        let out = self.crossing_out.entry(key).or_insert_with(|| Outgoing {
            track: BridgedTrack {
                publisher: publisher.clone(),
                track: track.clone(),
                codec,
                timescale: codec.clock_rate(),
            },
            fwd: Forwarding::default(),
            depacketizer: Depacketizer::new(codec),
        });
        let Some(want) = forward::target_layer(pkt.layers, out.fwd.max_rank) else {
            return;
        };
        let admit = out.fwd.admit(pkt.rid, want, || {
            crate::keyframe::starts_keyframe(pkt.spec.codec, &pkt.payload)
        });
        let mut keyframe = admit.keyframe;
        if admit.forward {
            let (seq, timestamp) = out.fwd.rewrite(pkt.seq, pkt.timestamp, pkt.at);
            match out.depacketizer.push(RtpIn {
                seq: *seq,
                timestamp,
                marker: pkt.marker,
                payload: &pkt.payload,
            }) {
                Depacketized::Frame(frame) => self.crossings.push_back(Crossing::Frame {
                    track: out.track.clone(),
                    frame,
                }),
                Depacketized::NeedKeyframe => keyframe = Some(out.fwd.layer.flatten()),
                Depacketized::Nothing => {}
            }
        }
        if let Some(layer) = keyframe {
            self.request_keyframe(publisher, track, layer, now);
        }
    }

    /// Forgets conversions of tracks no longer in any plan.
    pub(super) fn prune_crossings(&mut self) {
        let router = &self.router;
        self.crossing_out
            .retain(|(p, t), _| router.route(p, t).is_some());
        self.crossing_in
            .retain(|(p, t), _| router.route(p, t).is_some());
    }
}
