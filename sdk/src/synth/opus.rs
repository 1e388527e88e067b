//! Opus-shaped audio: one 20 ms frame per packet (TOC byte `0xf8`: CELT
//! fullband, 20 ms, mono, one frame) followed by filler bytes.

use std::time::Duration;

use bytes::Bytes;

use super::{Frame, Payload, Synth, fill};

/// The Opus generator.
#[derive(Debug)]
pub struct OpusSynth {
    frame_no: u64,
    bytes_per_frame: usize,
}

/// CELT-only fullband, 20 ms (config 31), mono, one frame per packet.
pub const TOC: u8 = 31 << 3;

impl OpusSynth {
    /// `bytes_per_frame` of payload every 20 ms (80 bytes ≈ 32 kbit/s).
    pub fn new(bytes_per_frame: usize) -> Self {
        Self {
            frame_no: 0,
            bytes_per_frame: bytes_per_frame.max(2),
        }
    }
}

impl Default for OpusSynth {
    fn default() -> Self {
        Self::new(80)
    }
}

impl Synth for OpusSynth {
    fn clock_rate(&self) -> u32 {
        48_000
    }

    fn frame_interval(&self) -> Duration {
        Duration::from_millis(20)
    }

    fn next_frame(&mut self) -> Frame {
        let mut p = Vec::with_capacity(self.bytes_per_frame);
        p.push(TOC);
        fill(&mut p, self.bytes_per_frame - 1, self.frame_no as u32);
        let frame = Frame {
            rtp_timestamp: (self.frame_no * 960) as u32,
            keyframe: false,
            payloads: vec![Payload {
                data: Bytes::from(p),
                marker: self.frame_no == 0,
            }],
        };
        self.frame_no += 1;
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_20ms_apart_with_a_toc_byte() {
        let mut s = OpusSynth::default();
        assert_eq!(s.frame_interval(), Duration::from_millis(20));
        let a = s.next_frame();
        let b = s.next_frame();
        assert_eq!(a.payloads.len(), 1);
        assert_eq!(a.payloads[0].data.len(), 80);
        assert_eq!(a.payloads[0].data[0], 0xf8);
        assert!(a.payloads[0].marker, "talkspurt start");
        assert!(!b.payloads[0].marker);
        assert_eq!(b.rtp_timestamp - a.rtp_timestamp, 960);
        assert_ne!(a.payloads[0].data, b.payloads[0].data);
        assert!(!a.keyframe);
    }
}
