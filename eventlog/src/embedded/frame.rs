//! The on-disk frame: one append (a batch of events of one stream) per frame.
//!
//! ```text
//! frame  = body_len: u32 LE | crc32c(body): u32 LE | body
//! body   = first_position: u64 | first_revision: u64 | recorded_at_us: i64
//!        | count: u32 | stream_len: u16 | stream | event{count}
//! event  = id: [u8; 16] | type_len: u16 | type | schema_version: u16 | codec: u8
//!        | flags: u8 (1 actor, 2 correlation, 4 causation)
//!        | [actor_len: u16 | actor] | [correlation: [u8; 16]] | [causation: [u8; 16]]
//!        | payload_len: u32 | payload
//! ```
//!
//! All integers are little-endian. Decoding checks every length against the
//! bytes at hand and never panics on bad input.

use uuid::Uuid;

use crate::types::{Codec, Metadata, Position, RecordedEvent, StreamName};

/// Bytes before the body: length and checksum.
pub const FRAME_HEADER_LEN: usize = 8;
/// Largest body accepted when reading. Appends are limited well below it.
pub const MAX_BODY_LEN: usize = 16 << 20;
/// Smallest possible body: the fixed fields and a one-byte stream name.
const MIN_BODY_LEN: usize = 8 + 8 + 8 + 4 + 2 + 1;

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the frame claims (a torn write, or the end of the data).
    Short,
    /// A length outside what a writer ever produces.
    BadLength(u32),
    /// The checksum does not match the body.
    BadChecksum,
    /// The checksum matched but the body does not parse.
    Malformed(&'static str),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Short => f.write_str("frame cut short"),
            Self::BadLength(n) => write!(f, "impossible frame length {n}"),
            Self::BadChecksum => f.write_str("CRC-32C mismatch"),
            Self::Malformed(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

/// Appends the frame of one batch to `out`. Events are already numbered.
pub fn encode(out: &mut Vec<u8>, events: &[RecordedEvent]) {
    let Some(first) = events.first() else { return };
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
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
    let body_len = (out.len() - start - FRAME_HEADER_LEN) as u32;
    let crc = crc32c::crc32c(&out[start + FRAME_HEADER_LEN..]);
    out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Strings are length-limited by the append rules; this caps them defensively.
fn put_str16(out: &mut Vec<u8>, s: &str) {
    let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Checks the frame at the start of `buf` and returns its total length
/// (header + body). Does not decode the body.
pub fn check(buf: &[u8]) -> Result<usize, FrameError> {
    if buf.len() < FRAME_HEADER_LEN {
        return Err(FrameError::Short);
    }
    let body_len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let len = body_len as usize;
    if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&len) {
        return Err(FrameError::BadLength(body_len));
    }
    let Some(body) = buf.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
        return Err(FrameError::Short);
    };
    if crc32c::crc32c(body) != crc {
        return Err(FrameError::BadChecksum);
    }
    Ok(FRAME_HEADER_LEN + len)
}

/// Checks and decodes the frame at the start of `buf`: its events and its
/// total length.
pub fn decode(buf: &[u8]) -> Result<(Vec<RecordedEvent>, usize), FrameError> {
    let mut events = Vec::new();
    let info = decode_into(buf, 0, usize::MAX, &mut events)?;
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
}

/// Checks and decodes the frame at the start of `buf`, appending to `out` its
/// events from position `from` on while `out` holds fewer than `max`. Every
/// event is checked; only the kept ones are copied out of `buf`, straight into
/// `out`. On an error `out` may hold part of the frame: discard it.
pub fn decode_into(
    buf: &[u8],
    from: u64,
    max: usize,
    out: &mut Vec<RecordedEvent>,
) -> Result<FrameInfo, FrameError> {
    let len = check(buf)?;
    let mut r = Reader {
        buf: &buf[FRAME_HEADER_LEN..len],
    };
    let first_position = r.u64()?;
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

    #[test]
    fn round_trips() {
        let events = sample(5);
        let mut buf = Vec::new();
        encode(&mut buf, &events);
        let (back, len) = decode(&buf).unwrap();
        assert_eq!(len, buf.len());
        assert_eq!(back, events);
    }

    #[test]
    fn decode_into_keeps_events_from_a_position_up_to_a_total() {
        let events = sample(5);
        let mut buf = Vec::new();
        encode(&mut buf, &events);
        let mut out = vec![events[0].clone()];
        let info = decode_into(&buf, 12, 3, &mut out).unwrap();
        assert_eq!(
            info,
            FrameInfo {
                len: buf.len(),
                first_position: 10,
                count: 5
            }
        );
        assert_eq!(
            out,
            vec![events[0].clone(), events[2].clone(), events[3].clone()]
        );
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_refused() {
        let mut buf = Vec::new();
        encode(&mut buf, &sample(3));
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[byte] ^= 1 << bit;
                assert!(decode(&bad).is_err(), "flip {byte}:{bit}");
            }
        }
    }
}
