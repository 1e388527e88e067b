//! VP8 over RTP (RFC 7741): the payload descriptor, reassembly of frames
//! from packets and fragmentation of frames into packets.

use bytes::{BufMut, Bytes, BytesMut};

/// The parts of a payload descriptor reassembly needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// S: the packet starts a partition.
    pub start: bool,
    /// PID: the partition index.
    pub partition: u8,
    /// Bytes of descriptor before the VP8 payload.
    pub len: usize,
}

impl Descriptor {
    /// Reads the descriptor at the front of an RTP payload; `None` when it
    /// is truncated or no payload follows it.
    pub fn parse(p: &[u8]) -> Option<Self> {
        let first = *p.first()?;
        let mut len = 1;
        if first & 0x80 != 0 {
            let x = *p.get(1)?;
            len += 1;
            if x & 0x80 != 0 {
                // PictureID: 7 bits, or 15 when its M bit is set.
                let pid = *p.get(len)?;
                len += if pid & 0x80 != 0 { 2 } else { 1 };
            }
            if x & 0x40 != 0 {
                len += 1; // TL0PICIDX
            }
            if x & 0x30 != 0 {
                len += 1; // TID/Y/KEYIDX
            }
        }
        (p.len() > len).then_some(Self {
            start: first & 0x10 != 0,
            partition: first & 0x0f,
            len,
        })
    }
}

/// Whether an RTP payload is the first packet of a VP8 keyframe: a
/// descriptor with S set and partition 0, then a frame header whose lowest
/// bit (P) is 0. Truncated payloads are never keyframes.
pub fn starts_keyframe(p: &[u8]) -> bool {
    Descriptor::parse(p).is_some_and(|d| d.start && d.partition == 0 && p[d.len] & 0x01 == 0)
}

/// What a packet did to the frame being assembled.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Pending,
    /// Frames are being dropped until a keyframe starts.
    Broken,
    Done {
        timestamp: u32,
        keyframe: bool,
        payload: BytesMut,
    },
}

/// Reassembles frames; after a loss, drops everything up to the next
/// keyframe (a delta frame that refers to a lost one cannot be decoded).
#[derive(Debug)]
pub struct Assembler {
    buf: BytesMut,
    /// The timestamp of the frame in `buf`, while one is in progress.
    current: Option<u32>,
    /// Waiting for a keyframe: true until the first one.
    broken: bool,
}

impl Default for Assembler {
    fn default() -> Self {
        Self {
            buf: BytesMut::new(),
            current: None,
            broken: true,
        }
    }
}

impl Assembler {
    /// A packet was lost: the frame in progress and its followers are gone.
    pub fn lose(&mut self) {
        self.buf.clear();
        self.current = None;
        self.broken = true;
    }

    pub fn push(&mut self, timestamp: u32, marker: bool, payload: &[u8]) -> Step {
        let Some(d) = Descriptor::parse(payload) else {
            self.lose();
            return Step::Broken;
        };
        let body = &payload[d.len..];
        if d.start && d.partition == 0 {
            if self.current.is_some() {
                // The previous frame never saw its marker.
                self.lose();
            }
            self.buf.clear();
            self.current = Some(timestamp);
        } else if self.current != Some(timestamp) {
            // A middle of a frame whose start we do not have.
            self.lose();
            return Step::Broken;
        }
        self.buf.extend_from_slice(body);
        if !marker {
            return Step::Pending;
        }
        self.current = None;
        let frame = self.buf.split();
        // The VP8 frame header's lowest bit: 0 for a key frame.
        let keyframe = frame.first().is_some_and(|b| b & 0x01 == 0);
        if keyframe {
            self.broken = false;
        }
        if self.broken {
            return Step::Broken;
        }
        Step::Done {
            timestamp,
            keyframe,
            payload: frame,
        }
    }
}

/// Cuts a frame into RTP payloads of at most `max` VP8 bytes, each behind a
/// one-byte descriptor (S on the first, partition 0); the last one carries
/// the marker bit.
pub fn fragment(frame: &[u8], max: usize) -> Vec<(Bytes, bool)> {
    let max = max.max(1);
    let chunks: Vec<&[u8]> = if frame.is_empty() {
        vec![&[][..]]
    } else {
        frame.chunks(max).collect()
    };
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut b = BytesMut::with_capacity(c.len() + 1);
            b.put_u8(if i == 0 { 0x10 } else { 0x00 });
            b.extend_from_slice(c);
            (b.freeze(), i + 1 == n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_with_every_extension_are_skipped() {
        // X, then I (15-bit picture id), L and T.
        let p = [0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x9d];
        assert_eq!(
            Descriptor::parse(&p),
            Some(Descriptor {
                start: true,
                partition: 0,
                len: 6
            })
        );
        assert_eq!(Descriptor::parse(&p[..6]), None, "no payload after it");
        assert_eq!(Descriptor::parse(&[0x80]), None, "truncated");
    }

    #[test]
    fn a_frame_split_over_packets_comes_back_whole_and_a_loss_waits_for_a_keyframe() {
        let mut a = Assembler::default();
        let key = [0x10u8, 0x00, 1, 2];
        assert!(matches!(
            a.push(9, true, &key),
            Step::Done { keyframe: true, .. }
        ));
        assert_eq!(a.push(10, false, &[0x10, 0x01, 7]), Step::Pending);
        match a.push(10, true, &[0x00, 8]) {
            Step::Done {
                timestamp,
                keyframe,
                payload,
            } => {
                assert_eq!((timestamp, keyframe), (10, false));
                assert_eq!(&payload[..], [0x01, 7, 8]);
            }
            other => panic!("{other:?}"),
        }
        a.lose();
        assert_eq!(a.push(11, true, &[0x10, 0x01]), Step::Broken);
        assert!(matches!(
            a.push(12, true, &key),
            Step::Done { keyframe: true, .. }
        ));
        // A middle packet without its start.
        assert_eq!(a.push(13, true, &[0x00, 0x01]), Step::Broken);
    }
}
