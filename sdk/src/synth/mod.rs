//! Synthetic media: sans-IO generators of codec payloads that look real to an
//! SFU (valid VP8 payload descriptors and frame headers, Opus TOC bytes) but
//! carry no picture or sound. A sender task asks a generator for one
//! [`Frame`] per [`Synth::frame_interval`] and wraps its payloads in RTP.
//!
//! Layout: [`vp8`] (video, keyframe every N frames, a few packets per frame),
//! [`opus`] (20 ms audio frames).

pub mod opus;
pub mod vp8;

use std::time::Duration;

use bytes::Bytes;

/// One RTP payload of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub data: Bytes,
    /// The RTP marker bit: the last packet of a video frame, the first packet
    /// of an audio talkspurt.
    pub marker: bool,
}

/// One media frame, ready to packetise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// RTP timestamp relative to the generator's first frame (wrapping); the
    /// sender adds its random base.
    pub rtp_timestamp: u32,
    /// A video keyframe (always `false` for audio).
    pub keyframe: bool,
    pub payloads: Vec<Payload>,
}

/// A generator of frames (sans-IO: no clock, no I/O; the caller paces it).
pub trait Synth: Send + 'static {
    /// The RTP clock rate of the codec.
    fn clock_rate(&self) -> u32;
    /// How often the caller asks for a frame.
    fn frame_interval(&self) -> Duration;
    /// The next frame.
    fn next_frame(&mut self) -> Frame;
    /// Makes the next frame a keyframe (no-op for audio).
    fn request_keyframe(&mut self) {}
}

/// Deterministic filler bytes (xorshift), so payloads are not all zeros
/// (which some paths compress or treat as padding) and tests are repeatable.
pub(crate) fn fill(buf: &mut Vec<u8>, len: usize, seed: u32) {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    buf.reserve(len);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf.push(x as u8);
    }
}
