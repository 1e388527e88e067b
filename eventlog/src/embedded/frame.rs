//! The on-disk frame: one append (a batch of events of one stream) per frame.
//! `docs/embedded-log.md` is the contract; in short:
//!
//! ```text
//! v1     = body_len: u32 | crc32c(body): u32 | body
//! v2     = body_len: u32 | crc32c(body): u32 | durable: u64 | head_crc: u32 | body
//!          head_crc = crc32c(salt: u32 | the 16 header bytes before it)
//! body   = first_position: u64 | first_revision: u64 | recorded_at_us: i64
//!        | count: u32 | stream_len: u16 | stream | event{count}
//! event  = id: [u8; 16] | type_len: u16 | type | schema_version: u16 | codec: u8
//!        | flags: u8 (1 actor, 2 correlation, 4 causation)
//!        | [actor_len: u16 | actor] | [correlation: [u8; 16]] | [causation: [u8; 16]]
//!        | payload_len: u32 | payload
//! ```
//!
//! `durable` (v2) is the durable watermark the writer knew when it wrote the
//! frame: every position below it was synced before. Recovery uses it to tell
//! a torn write from damage to an acknowledged frame. The segment header says
//! which layout its frames have ([`Layout`]); `salt` comes from it too.
//!
//! All integers are little-endian. Decoding checks every length against the
//! bytes at hand and never panics on bad input.

use uuid::Uuid;

use crate::types::{Codec, Metadata, Position, RecordedEvent, StreamName};

/// Bytes before the body of a version-2 frame (the largest header).
pub const FRAME_HEADER_LEN: usize = 20;
/// Largest body accepted when reading. Appends are limited well below it.
pub const MAX_BODY_LEN: usize = 16 << 20;
/// Smallest possible body: the fixed fields and a one-byte stream name.
const MIN_BODY_LEN: usize = 8 + 8 + 8 + 4 + 2 + 1;

/// How the frames of one segment are laid out (from its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format version 1: length and body CRC only.
    V1,
    /// Format version 2: adds the durable watermark and a header CRC seeded
    /// with the segment's salt.
    V2 { salt: u32 },
}

impl Layout {
    /// Bytes before the body.
    pub const fn header_len(self) -> usize {
        match self {
            Self::V1 => 8,
            Self::V2 { .. } => FRAME_HEADER_LEN,
        }
    }
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the frame claims (a torn write, or the end of the data).
    Short,
    /// The header fails its CRC (v2).
    BadHeader,
    /// A length outside what a writer ever produces.
    BadLength(u32),
    /// The checksum does not match the body.
    BadChecksum,
    /// The checksum matched but the body does not parse.
    Malformed(&'static str),
}

impl FrameError {
    /// Whether a write cut short by a crash can produce this error (as
    /// opposed to a body that passed its CRC and still does not parse).
    pub fn may_be_torn(&self) -> bool {
        !matches!(self, Self::Malformed(_))
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Short => f.write_str("frame cut short"),
            Self::BadHeader => f.write_str("frame header CRC-32C mismatch"),
            Self::BadLength(n) => write!(f, "impossible frame length {n}"),
            Self::BadChecksum => f.write_str("CRC-32C mismatch"),
            Self::Malformed(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

/// Appends the frame of one batch to `out`. Events are already numbered;
/// `durable` is the durable watermark to record (ignored by [`Layout::V1`]).
pub fn encode(out: &mut Vec<u8>, layout: Layout, durable: u64, events: &[RecordedEvent]) {
    let Some(first) = events.first() else { return };
    let start = out.len();
    let header_len = layout.header_len();
    out.resize(start + header_len, 0);
    out.extend_from_slice(&first.position.0.to_le_bytes());
    out.extend_from_slice(&first.revision.to_le_bytes());
    out.extend_from_slice(&first.recorded_at_us.to_le_bytes());
    out.extend_from_slice(&(events.len() as u32).to_le_bytes());
    put_str16(out, first.stream.as_str());
    for e in events {
        out.extend_from_slice(e.event_id.as_bytes());
        put_str16(out, &e.event_type);
        out.extend_from_slice(&e.schema_version.to_le_bytes());
        out.push(e.codec as u8);
        let m = &e.metadata;
        let flags = u8::from(m.actor.is_some())
            | (u8::from(m.correlation_id.is_some()) << 1)
            | (u8::from(m.causation_id.is_some()) << 2);
        out.push(flags);
        if let Some(actor) = &m.actor {
            put_str16(out, actor);
        }
        if let Some(id) = m.correlation_id {
            out.extend_from_slice(id.as_bytes());
        }
        if let Some(id) = m.causation_id {
            out.extend_from_slice(id.as_bytes());
        }
        out.extend_from_slice(&(e.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.payload);
    }
    let body_len = (out.len() - start - header_len) as u32;
    let crc = crc32c::crc32c(&out[start + header_len..]);
    let h = &mut out[start..start + header_len];
    h[0..4].copy_from_slice(&body_len.to_le_bytes());
    h[4..8].copy_from_slice(&crc.to_le_bytes());
    if let Layout::V2 { salt } = layout {
        h[8..16].copy_from_slice(&durable.to_le_bytes());
        let head_crc = head_crc(salt, &h[0..16]);
        h[16..20].copy_from_slice(&head_crc.to_le_bytes());
    }
}

fn head_crc(salt: u32, head: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&salt.to_le_bytes()), head)
}

/// Strings are length-limited by the append rules; this caps them defensively.
fn put_str16(out: &mut Vec<u8>, s: &str) {
    let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A frame header that passed its checks: what it says about the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub body_len: u32,
    pub body_crc: u32,
    /// The durable watermark (0 in [`Layout::V1`], which records none).
    pub durable: u64,
}

impl Head {
    /// Header + body, in bytes.
    pub fn frame_len(&self, layout: Layout) -> usize {
        layout.header_len() + self.body_len as usize
    }
}

/// Checks the header at the start of `buf` (its CRC in v2, and the body
/// length) without looking at the body.
pub fn head(buf: &[u8], layout: Layout) -> Result<Head, FrameError> {
    let header_len = layout.header_len();
    let Some(h) = buf.get(..header_len) else {
        return Err(FrameError::Short);
    };
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    // The length first: it is cheaper, and resynchronisation tries it at
    // every byte offset.
    let body_len = u32_at(0);
    if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&(body_len as usize)) {
        return Err(FrameError::BadLength(body_len));
    }
    let durable = match layout {
        Layout::V1 => 0,
        Layout::V2 { salt } => {
            if head_crc(salt, &h[0..16]) != u32_at(16) {
                return Err(FrameError::BadHeader);
            }
            let mut d = [0u8; 8];
            d.copy_from_slice(&h[8..16]);
            u64::from_le_bytes(d)
        }
    };
    Ok(Head {
        body_len,
        body_crc: u32_at(4),
        durable,
    })
}

/// Checks the frame at the start of `buf` and returns its header. Does not
/// decode the body.
pub fn check(buf: &[u8], layout: Layout) -> Result<Head, FrameError> {
    let head = head(buf, layout)?;
    let Some(body) = buf.get(layout.header_len()..head.frame_len(layout)) else {
        return Err(FrameError::Short);
    };
    if crc32c::crc32c(body) != head.body_crc {
        return Err(FrameError::BadChecksum);
    }
    Ok(head)
}

/// Checks and decodes the frame at the start of `buf`: its events and its
/// total length.
pub fn decode(buf: &[u8], layout: Layout) -> Result<(Vec<RecordedEvent>, usize), FrameError> {
    let mut events = Vec::new();
    let info = decode_into(buf, layout, 0, usize::MAX, &mut events)?;
    Ok((events, info.len))
}

/// What [`decode_into`] found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Header + body, in bytes.
    pub len: usize,
    pub first_position: u64,
    /// Events in the frame (kept or not).
    pub count: u32,
    /// The durable watermark it records (0 in v1).
    pub durable: u64,
}

/// Checks and decodes the frame at the start of `buf`, appending to `out` its
/// events from position `from` on while `out` holds fewer than `max`. Every
/// event is checked; only the kept ones are copied out of `buf`, straight into
/// `out`. On an error `out` may hold part of the frame: discard it.
pub fn decode_into(
    buf: &[u8],
    layout: Layout,
    from: u64,
    max: usize,
    out: &mut Vec<RecordedEvent>,
) -> Result<FrameInfo, FrameError> {
    let head = check(buf, layout)?;
    let len = head.frame_len(layout);
    let mut r = Reader {
        buf: &buf[layout.header_len()..len],
    };
    let first_position = r.u64()?;
    if head.durable > first_position {
        return Err(FrameError::Malformed("durable watermark beyond the frame"));
    }
    let first_revision = r.u64()?;
    let recorded_at_us = r.u64()? as i64;
    let count = r.u32()?;
    if count == 0 {
        return Err(FrameError::Malformed("empty batch"));
    }
    let stream = StreamName::new(r.str16()?).map_err(|_| FrameError::Malformed("stream name"))?;
    // Each event takes at least 26 bytes; a bigger count is a lie.
    if count as usize > r.buf.len() / 26 + 1 {
        return Err(FrameError::Malformed("event count"));
    }
    out.reserve((count as usize).min(max.saturating_sub(out.len())));
    for i in 0..u64::from(count) {
        let event_id = Uuid::from_bytes(r.array()?);
        let event_type = r.str16_ref()?;
        let schema_version = r.u16()?;
        let codec = Codec::from_u8(r.u8()?).ok_or(FrameError::Malformed("codec"))?;
        let flags = r.u8()?;
        if flags & !7 != 0 {
            return Err(FrameError::Malformed("metadata flags"));
        }
        let actor = if flags & 1 != 0 {
            Some(r.str16_ref()?)
        } else {
            None
        };
        let correlation_id = if flags & 2 != 0 {
            Some(Uuid::from_bytes(r.array()?))
        } else {
            None
        };
        let causation_id = if flags & 4 != 0 {
            Some(Uuid::from_bytes(r.array()?))
        } else {
            None
        };
        let payload_len = r.u32()? as usize;
        let payload = r.take(payload_len)?;
        let revision = first_revision
            .checked_add(i)
            .ok_or(FrameError::Malformed("revision overflow"))?;
        let position = first_position
            .checked_add(i)
            .ok_or(FrameError::Malformed("position overflow"))?;
        if position < from || out.len() >= max {
            continue;
        }
        out.push(RecordedEvent {
            event_id,
            stream: stream.clone(),
            revision,
            position: Position(position),
            event_type: event_type.to_owned(),
            schema_version,
            codec,
            payload: payload.to_vec(),
            metadata: Metadata {
                actor: actor.map(str::to_owned),
                correlation_id,
                causation_id,
            },
            recorded_at_us,
        });
    }
    if !r.buf.is_empty() {
        return Err(FrameError::Malformed("trailing bytes"));
    }
    Ok(FrameInfo {
        len,
        first_position,
        count,
        durable: head.durable,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.buf.len() < n {
            return Err(FrameError::Malformed("field runs past the frame"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn str16(&mut self) -> Result<String, FrameError> {
        self.str16_ref().map(str::to_owned)
    }

    fn str16_ref(&mut self) -> Result<&'a str, FrameError> {
        let n = self.u16()? as usize;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| FrameError::Malformed("invalid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<RecordedEvent> {
        (0..n)
            .map(|i| RecordedEvent {
                event_id: Uuid::new_v4(),
                stream: StreamName::new("room-1").unwrap(),
                revision: 4 + i as u64,
                position: Position(10 + i as u64),
                event_type: "PeerJoined".into(),
                schema_version: 2,
                codec: Codec::Bincode2,
                payload: vec![i as u8; i * 3],
                metadata: Metadata {
                    actor: (i % 2 == 0).then(|| "peer:x".to_owned()),
                    correlation_id: Some(Uuid::new_v4()),
                    causation_id: (i % 3 == 0).then(Uuid::new_v4),
                },
                recorded_at_us: 1_700_000_000_000_000,
            })
            .collect()
    }

    const LAYOUTS: [Layout; 2] = [Layout::V1, Layout::V2 { salt: 0x5eed_0001 }];

    #[test]
    fn round_trips() {
        for layout in LAYOUTS {
            let events = sample(5);
            let mut buf = Vec::new();
            encode(&mut buf, layout, 7, &events);
            let (back, len) = decode(&buf, layout).unwrap();
            assert_eq!(len, buf.len());
            assert_eq!(back, events);
        }
    }

    #[test]
    fn decode_into_keeps_events_from_a_position_up_to_a_total() {
        let events = sample(5);
        let mut buf = Vec::new();
        encode(&mut buf, LAYOUTS[1], 9, &events);
        let mut out = vec![events[0].clone()];
        let info = decode_into(&buf, LAYOUTS[1], 12, 3, &mut out).unwrap();
        assert_eq!(
            info,
            FrameInfo {
                len: buf.len(),
                first_position: 10,
                count: 5,
                durable: 9,
            }
        );
        assert_eq!(
            out,
            vec![events[0].clone(), events[2].clone(), events[3].clone()]
        );
    }

    #[test]
    fn the_header_is_checked_on_its_own_with_the_salt() {
        let mut buf = Vec::new();
        encode(&mut buf, Layout::V2 { salt: 1 }, 10, &sample(2));
        let head = head(&buf[..FRAME_HEADER_LEN], Layout::V2 { salt: 1 }).unwrap();
        assert_eq!(head.durable, 10);
        assert_eq!(head.frame_len(Layout::V2 { salt: 1 }), buf.len());
        // Another segment's salt does not accept it.
        assert_eq!(
            check(&buf, Layout::V2 { salt: 2 }),
            Err(FrameError::BadHeader)
        );
    }

    #[test]
    fn a_watermark_beyond_the_frame_is_refused() {
        let mut buf = Vec::new();
        encode(&mut buf, LAYOUTS[1], 11, &sample(2));
        assert_eq!(
            decode(&buf, LAYOUTS[1]).map(|(_, len)| len),
            Err(FrameError::Malformed("durable watermark beyond the frame"))
        );
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_refused() {
        for layout in LAYOUTS {
            let mut buf = Vec::new();
            encode(&mut buf, layout, 3, &sample(3));
            for cut in 0..buf.len() {
                assert!(decode(&buf[..cut], layout).is_err(), "cut at {cut}");
            }
            for byte in 0..buf.len() {
                for bit in 0..8 {
                    let mut bad = buf.clone();
                    bad[byte] ^= 1 << bit;
                    assert!(decode(&bad, layout).is_err(), "flip {byte}:{bit}");
                }
            }
        }
    }
}
