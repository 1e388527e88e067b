//! VP8 frames as RTP payloads (RFC 7741): every packet starts with a payload
//! descriptor carrying a 15-bit PictureID, the first packet of a frame has
//! `S=1, PID=0` and begins with the VP8 frame tag; keyframes also carry the
//! start code and the picture size, so an SFU that inspects payloads sees a
//! real keyframe.

use std::time::Duration;

use bytes::Bytes;

use super::{Frame, Payload, Synth, fill};

/// How the generator shapes its stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vp8Config {
    pub fps: u32,
    /// A keyframe every this many frames (and the first frame).
    pub keyframe_interval: u32,
    /// Bytes of VP8 data in a keyframe and in a delta frame.
    pub keyframe_bytes: usize,
    pub delta_bytes: usize,
    /// Largest RTP payload, descriptor included.
    pub max_payload: usize,
    pub width: u16,
    pub height: u16,
}

impl Default for Vp8Config {
    /// 25 fps, a keyframe every second, ≈ 6 packets per keyframe and 2 per
    /// delta frame: ≈ 300 kbit/s, ≈ 60 packets/s.
    fn default() -> Self {
        Self {
            fps: 25,
            keyframe_interval: 25,
            keyframe_bytes: 6000,
            delta_bytes: 1400,
            max_payload: 1100,
            width: 640,
            height: 360,
        }
    }
}

/// The VP8 generator.
#[derive(Debug)]
pub struct Vp8Synth {
    cfg: Vp8Config,
    frame_no: u64,
    picture_id: u16,
    force_keyframe: bool,
}

/// Payload descriptor length: X|S byte, I byte, two PictureID bytes.
const DESCRIPTOR_LEN: usize = 4;

impl Vp8Synth {
    pub fn new(cfg: Vp8Config) -> Self {
        let cfg = Vp8Config {
            fps: cfg.fps.clamp(1, 120),
            keyframe_interval: cfg.keyframe_interval.max(1),
            max_payload: cfg.max_payload.max(DESCRIPTOR_LEN + 16),
            keyframe_bytes: cfg.keyframe_bytes.max(10),
            delta_bytes: cfg.delta_bytes.max(3),
            ..cfg
        };
        Self {
            cfg,
            frame_no: 0,
            picture_id: 0,
            force_keyframe: false,
        }
    }

    /// The VP8 bitstream of one frame (frame tag, and for a keyframe the start
    /// code and size), padded with filler to its configured size.
    fn bitstream(&self, keyframe: bool) -> Vec<u8> {
        let total = if keyframe {
            self.cfg.keyframe_bytes
        } else {
            self.cfg.delta_bytes
        };
        let header_len = if keyframe { 10 } else { 3 };
        // The first partition is "the rest of the frame" here; any value below
        // the frame size is valid for a depacketiser.
        let first_part = ((total - header_len) as u32).min(0x7_ffff);
        let show_frame = 1u32;
        let inverse_key = u32::from(!keyframe);
        let tag = inverse_key | (show_frame << 4) | (first_part << 5);
        let mut b = Vec::with_capacity(total);
        b.extend_from_slice(&[tag as u8, (tag >> 8) as u8, (tag >> 16) as u8]);
        if keyframe {
            b.extend_from_slice(&[0x9d, 0x01, 0x2a]);
            b.extend_from_slice(&(self.cfg.width & 0x3fff).to_le_bytes());
            b.extend_from_slice(&(self.cfg.height & 0x3fff).to_le_bytes());
        }
        fill(&mut b, total - header_len, self.frame_no as u32);
        b
    }
}

impl Synth for Vp8Synth {
    fn clock_rate(&self) -> u32 {
        90_000
    }

    fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.cfg.fps
    }

    fn next_frame(&mut self) -> Frame {
        let keyframe = self.force_keyframe
            || self
                .frame_no
                .is_multiple_of(u64::from(self.cfg.keyframe_interval));
        self.force_keyframe = false;
        let bitstream = self.bitstream(keyframe);
        let chunk = self.cfg.max_payload - DESCRIPTOR_LEN;
        let pieces: Vec<&[u8]> = bitstream.chunks(chunk).collect();
        let n = pieces.len();
        let pid = self.picture_id;
        let payloads = pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut p = Vec::with_capacity(DESCRIPTOR_LEN + piece.len());
                // X=1 (extensions follow), S=1 on the first packet, PID=0.
                p.push(if i == 0 { 0x90 } else { 0x80 });
                // I=1: a PictureID follows.
                p.push(0x80);
                // M=1: 15-bit PictureID.
                p.push(0x80 | ((pid >> 8) as u8 & 0x7f));
                p.push(pid as u8);
                p.extend_from_slice(piece);
                Payload {
                    data: Bytes::from(p),
                    marker: i + 1 == n,
                }
            })
            .collect();
        let ts_step = 90_000 / u64::from(self.cfg.fps);
        let frame = Frame {
            rtp_timestamp: (self.frame_no * ts_step) as u32,
            keyframe,
            payloads,
        };
        self.frame_no += 1;
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        frame
    }

    fn request_keyframe(&mut self) {
        self.force_keyframe = true;
    }
}

/// Whether an RTP payload is the first packet of a VP8 keyframe (descriptor
/// `S=1, PID=0` and frame tag `P=0`). Used to count keyframes received.
pub fn is_keyframe_start(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    if !start {
        return false;
    }
    let mut at = 1;
    if b0 & 0x80 != 0 {
        let Some(&x) = payload.get(at) else {
            return false;
        };
        at += 1;
        if x & 0x80 != 0 {
            // I: PictureID, 7 or 15 bits.
            let Some(&p) = payload.get(at) else {
                return false;
            };
            at += if p & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // L: TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // T or K: TID/Y/KEYIDX
        }
    }
    payload.get(at).is_some_and(|tag| tag & 0x01 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_come_every_interval_and_on_request() {
        let mut s = Vp8Synth::new(Vp8Config {
            keyframe_interval: 3,
            ..Vp8Config::default()
        });
        let keys: Vec<bool> = (0..7).map(|_| s.next_frame().keyframe).collect();
        assert_eq!(keys, [true, false, false, true, false, false, true]);
        s.request_keyframe();
        assert!(s.next_frame().keyframe);
        assert!(!s.next_frame().keyframe);
    }

    #[test]
    fn packets_carry_a_valid_descriptor_and_frame_header() {
        let cfg = Vp8Config::default();
        let mut s = Vp8Synth::new(cfg.clone());
        let key = s.next_frame();
        assert!(key.payloads.len() >= 3, "a keyframe spans several packets");
        assert!(key.payloads.iter().all(|p| p.data.len() <= cfg.max_payload));
        let first = &key.payloads[0].data;
        assert_eq!(first[0], 0x90);
        assert_eq!(&first[1..4], &[0x80, 0x80, 0x00]);
        assert_eq!(first[4] & 0x01, 0, "P=0: keyframe");
        assert_eq!(&first[7..10], &[0x9d, 0x01, 0x2a], "start code");
        assert_eq!(u16::from_le_bytes([first[10], first[11]]), 640);
        assert_eq!(u16::from_le_bytes([first[12], first[13]]), 360);
        assert!(is_keyframe_start(first));
        assert!(!is_keyframe_start(&key.payloads[1].data), "S=0");
        assert_eq!(key.payloads[1].data[0], 0x80);
        let markers: Vec<bool> = key.payloads.iter().map(|p| p.marker).collect();
        assert_eq!(markers.iter().filter(|m| **m).count(), 1);
        assert!(markers.last().copied().unwrap());

        let delta = s.next_frame();
        assert!(!is_keyframe_start(&delta.payloads[0].data));
        assert_eq!(delta.payloads[0].data[4] & 0x01, 1, "P=1: interframe");
        assert_eq!(&delta.payloads[0].data[2..4], &[0x80, 0x01], "PictureID 1");
        assert_eq!(delta.rtp_timestamp, 3600);
        let bytes: usize = key.payloads.iter().map(|p| p.data.len() - 4).sum();
        assert_eq!(bytes, cfg.keyframe_bytes);
    }

    #[test]
    fn picture_id_wraps_at_15_bits() {
        let mut s = Vp8Synth::new(Vp8Config::default());
        s.picture_id = 0x7fff;
        let f = s.next_frame();
        assert_eq!(&f.payloads[0].data[2..4], &[0xff, 0xff]);
        let f = s.next_frame();
        assert_eq!(&f.payloads[0].data[2..4], &[0x80, 0x00]);
    }

    #[test]
    fn keyframe_detection_handles_short_and_foreign_descriptors() {
        assert!(!is_keyframe_start(&[]));
        assert!(!is_keyframe_start(&[0x90]));
        assert!(!is_keyframe_start(&[0x90, 0x80]));
        // No extensions: S=1, then a keyframe tag.
        assert!(is_keyframe_start(&[0x10, 0x00]));
        // 7-bit PictureID, L and T present.
        assert!(is_keyframe_start(&[0x90, 0xe0, 0x05, 0x01, 0x02, 0x50]));
        assert!(!is_keyframe_start(&[0x90, 0xe0, 0x05, 0x01, 0x02, 0x51]));
        // S=1 but partition 1.
        assert!(!is_keyframe_start(&[0x11, 0x00]));
    }
}
