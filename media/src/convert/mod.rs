//! Conversion between RTP packets and whole frames, once per published
//! track, for rooms that mix packet transports (WebRTC) and frame transports
//! (QUIC, WebTransport): docs/quic-protocol.md §9. Sans-IO and pure: the
//! transport that speaks RTP feeds packets or frames in and carries the
//! results out.
//!
//! - [`Depacketizer`]: RTP of one track → [`Frame`]s numbered in groups (a
//!   video group starts at a keyframe), or word that a keyframe is needed.
//! - [`Packetizer`]: frames of one track → RTP payloads with sequence
//!   numbers and timestamps continuous across groups.

mod unwrap;
pub mod vp8;

use bytes::Bytes;
use caucus_domain::room::model::TrackKind;

use unwrap::TimestampUnwrapper;

/// A codec whose media crosses between transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    Vp8,
}

impl Codec {
    /// From a codec name as either transport writes it (`opus`, `VP8`, …);
    /// `None` for codecs that do not cross.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("opus") {
            Some(Self::Opus)
        } else if name.eq_ignore_ascii_case("vp8") {
            Some(Self::Vp8)
        } else {
            None
        }
    }

    /// The name frame transports use (`media-track`'s `codec`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Opus => "opus",
            Self::Vp8 => "vp8",
        }
    }

    /// The RTP clock, which is also the timescale of converted frames.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Opus => 48_000,
            Self::Vp8 => 90_000,
        }
    }

    pub fn kind(self) -> TrackKind {
        match self {
            Self::Opus => TrackKind::Audio,
            Self::Vp8 => TrackKind::Video,
        }
    }
}

/// One encoded frame of a track as frame transports carry it: object
/// `object` of group `group`, at `timestamp` in the track's timescale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub group: u64,
    pub object: u64,
    pub timestamp: u64,
    pub keyframe: bool,
    pub payload: Bytes,
}

/// The fields of a received RTP packet the depacketizer reads. `seq` is the
/// extended (64-bit, rollover-counted) sequence number.
#[derive(Clone, Copy, Debug)]
pub struct RtpIn<'a> {
    pub seq: u64,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: &'a [u8],
}

/// What one packet gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Depacketized {
    /// A frame completed.
    Frame(Frame),
    /// Nothing yet (a frame in progress, a duplicate).
    Nothing,
    /// Media is being dropped until the next keyframe: ask the publisher
    /// for one (the caller throttles).
    NeedKeyframe,
}

/// RTP → frames for one track.
#[derive(Debug)]
pub struct Depacketizer {
    codec: Codec,
    last_seq: Option<u64>,
    timestamps: TimestampUnwrapper,
    /// The next frame's place: `None` before the first keyframe (video) or
    /// frame (audio).
    at: Option<(u64, u64)>,
    vp8: vp8::Assembler,
}

impl Depacketizer {
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            last_seq: None,
            timestamps: TimestampUnwrapper::default(),
            at: None,
            vp8: vp8::Assembler::default(),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Takes the next packet of the track (in arrival order).
    pub fn push(&mut self, pkt: RtpIn<'_>) -> Depacketized {
        if self.last_seq.is_some_and(|l| pkt.seq <= l) {
            return Depacketized::Nothing; // a duplicate or a late packet
        }
        let gap = self.last_seq.is_some_and(|l| pkt.seq != l + 1);
        self.last_seq = Some(pkt.seq);
        match self.codec {
            Codec::Opus => {
                if pkt.payload.is_empty() {
                    return Depacketized::Nothing;
                }
                let group = self.at.map_or(0, |(g, _)| g + 1);
                self.at = Some((group, 0));
                Depacketized::Frame(Frame {
                    group,
                    object: 0,
                    timestamp: self.timestamps.unwrap(pkt.timestamp),
                    keyframe: false,
                    payload: Bytes::copy_from_slice(pkt.payload),
                })
            }
            Codec::Vp8 => {
                if gap {
                    self.vp8.lose();
                }
                match self.vp8.push(pkt.timestamp, pkt.marker, pkt.payload) {
                    vp8::Step::Pending => Depacketized::Nothing,
                    vp8::Step::Broken => Depacketized::NeedKeyframe,
                    vp8::Step::Done {
                        timestamp,
                        keyframe,
                        payload,
                    } => {
                        let (group, object) = match (self.at, keyframe) {
                            (_, true) => (self.at.map_or(0, |(g, _)| g + 1), 0),
                            (Some((g, o)), false) => (g, o + 1),
                            (None, false) => return Depacketized::NeedKeyframe,
                        };
                        self.at = Some((group, object));
                        Depacketized::Frame(Frame {
                            group,
                            object,
                            timestamp: self.timestamps.unwrap(timestamp),
                            keyframe,
                            payload: payload.into(),
                        })
                    }
                }
            }
        }
    }
}

/// One RTP packet to send: payload and header fields (the payload type and
/// SSRC are the sending connection's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpOut {
    /// Extended sequence number, continuous per track from 1.
    pub seq: u64,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
}

/// The largest VP8 fragment (payload bytes after the descriptor): RTP,
/// SRTP and the SFU's header extensions fit a 1,200-byte datagram.
pub const MAX_FRAGMENT: usize = 1100;

/// Frames → RTP for one track.
#[derive(Debug)]
pub struct Packetizer {
    codec: Codec,
    timescale: u32,
    next_seq: u64,
}

impl Packetizer {
    /// `timescale`: units per second of the frames' timestamps (0 is taken
    /// as the codec's clock).
    pub fn new(codec: Codec, timescale: u32) -> Self {
        Self {
            codec,
            timescale: if timescale == 0 {
                codec.clock_rate()
            } else {
                timescale
            },
            next_seq: 1,
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The RTP packets of one frame, in order.
    pub fn packetize(&mut self, timestamp: u64, payload: &[u8]) -> Vec<RtpOut> {
        let clock = u128::from(self.codec.clock_rate());
        let rtp_ts = (u128::from(timestamp) * clock / u128::from(self.timescale)) as u32;
        let parts: Vec<(Bytes, bool)> = match self.codec {
            Codec::Opus => vec![(Bytes::copy_from_slice(payload), false)],
            Codec::Vp8 => vp8::fragment(payload, MAX_FRAGMENT),
        };
        parts
            .into_iter()
            .map(|(payload, marker)| {
                let seq = self.next_seq;
                self.next_seq += 1;
                RtpOut {
                    seq,
                    timestamp: rtp_ts,
                    marker,
                    payload,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
