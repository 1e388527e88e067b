//! Media framing (docs/quic-protocol.md §5): group streams (a header, then
//! objects until FIN) and audio datagrams.

use bytes::{Buf, Bytes, BytesMut};

use super::{CodecError, varint};

/// The stream type of a group stream.
pub const GROUP_STREAM: u64 = 0x10;
/// The largest object, in bytes (4 MiB).
pub const MAX_OBJECT: u64 = 4 << 20;
/// Group priorities: audio, video (0 is the most urgent).
pub const PRIORITY_AUDIO: u8 = 0;
pub const PRIORITY_VIDEO: u8 = 128;

const KEYFRAME: u8 = 0x01;

/// What opens a group stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupHeader {
    /// The sender's alias of the track.
    pub alias: u64,
    /// The group sequence (0, 1, 2, … per track and sender).
    pub group: u64,
    pub priority: u8,
}

impl GroupHeader {
    /// Appends the stream type and the header.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        varint::encode(GROUP_STREAM, out)?;
        varint::encode(self.alias, out)?;
        varint::encode(self.group, out)?;
        out.push(self.priority);
        Ok(())
    }
}

/// One encoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Presentation time in the track's timescale.
    pub timestamp: u64,
    pub keyframe: bool,
    pub payload: Bytes,
}

impl Object {
    /// Appends the object (its length, timestamp, flags and payload).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let ts = varint::size(self.timestamp).ok_or(CodecError::VarIntRange(self.timestamp))?;
        let len = (ts + 1 + self.payload.len()) as u64;
        if len > MAX_OBJECT {
            return Err(CodecError::ObjectTooLarge(len));
        }
        varint::encode(len, out)?;
        varint::encode(self.timestamp, out)?;
        out.push(if self.keyframe { KEYFRAME } else { 0 });
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}

/// One item read from a group stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupItem {
    Header(GroupHeader),
    Object(Object),
}

/// Reads a group stream incrementally: [`push`](Self::push) bytes, drain
/// [`next_item`](Self::next_item) until `Ok(None)`, [`finish`](Self::finish)
/// at FIN. The first item is always the header.
#[derive(Debug, Default)]
pub struct GroupDecoder {
    buf: BytesMut,
    header: bool,
}

impl GroupDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next header or object; `Ok(None)` when more bytes are needed.
    pub fn next_item(&mut self) -> Result<Option<GroupItem>, CodecError> {
        if !self.header {
            return self.read_header().map(|h| h.map(GroupItem::Header));
        }
        let Some((len, n)) = varint::decode(&self.buf) else {
            return Ok(None);
        };
        if len > MAX_OBJECT {
            return Err(CodecError::ObjectTooLarge(len));
        }
        let Some((timestamp, ts)) = varint::decode(&self.buf[n..]) else {
            return if self.buf.len() - n >= len as usize {
                Err(CodecError::ShortObject(len))
            } else {
                Ok(None)
            };
        };
        if (ts as u64) + 1 > len {
            return Err(CodecError::ShortObject(len));
        }
        if self.buf.len() < n + len as usize {
            return Ok(None);
        }
        let flags = self.buf[n + ts];
        if flags & !KEYFRAME != 0 {
            return Err(CodecError::ReservedFlags(flags));
        }
        self.buf.advance(n + ts + 1);
        let payload = self.buf.split_to(len as usize - ts - 1).freeze();
        Ok(Some(GroupItem::Object(Object {
            timestamp,
            keyframe: flags & KEYFRAME != 0,
            payload,
        })))
    }

    fn read_header(&mut self) -> Result<Option<GroupHeader>, CodecError> {
        let Some((kind, a)) = varint::decode(&self.buf) else {
            return Ok(None);
        };
        if kind != GROUP_STREAM {
            return Err(CodecError::UnknownStreamType(kind));
        }
        let Some((alias, b)) = varint::decode(&self.buf[a..]) else {
            return Ok(None);
        };
        let Some((group, c)) = varint::decode(&self.buf[a + b..]) else {
            return Ok(None);
        };
        let Some(&priority) = self.buf.get(a + b + c) else {
            return Ok(None);
        };
        self.buf.advance(a + b + c + 1);
        self.header = true;
        Ok(Some(GroupHeader {
            alias,
            group,
            priority,
        }))
    }

    /// The stream ended (FIN): an error when it ended inside the header or
    /// an object.
    pub fn finish(&self) -> Result<(), CodecError> {
        match (self.header, self.buf.is_empty()) {
            (_, true) if self.header => Ok(()),
            (false, _) => Err(CodecError::Truncated("group header")),
            (true, _) if varint::decode(&self.buf).is_none() => {
                Err(CodecError::Truncated("varint"))
            }
            _ => Err(CodecError::Truncated("object")),
        }
    }
}

/// An audio object sent as a datagram (§5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub alias: u64,
    pub group: u64,
    pub object: u64,
    pub timestamp: u64,
    pub payload: Bytes,
}

impl Datagram {
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        for v in [self.alias, self.group, self.object, self.timestamp] {
            varint::encode(v, out)?;
        }
        out.extend_from_slice(&self.payload);
        Ok(())
    }

    pub fn decode(mut buf: Bytes) -> Result<Self, CodecError> {
        let mut next = || -> Result<u64, CodecError> {
            let (v, n) = varint::decode(&buf).ok_or(CodecError::Truncated("datagram"))?;
            buf.advance(n);
            Ok(v)
        };
        let (alias, group, object, timestamp) = (next()?, next()?, next()?, next()?);
        Ok(Self {
            alias,
            group,
            object,
            timestamp,
            payload: buf,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::ErrorCode;

    fn header() -> GroupHeader {
        GroupHeader {
            alias: 3,
            group: 70,
            priority: PRIORITY_VIDEO,
        }
    }

    fn decode_all(wire: &[u8], cut: usize) -> Result<Vec<GroupItem>, CodecError> {
        let mut d = GroupDecoder::new();
        let mut items = Vec::new();
        for chunk in wire.chunks(cut.max(1)) {
            d.push(chunk);
            while let Some(i) = d.next_item()? {
                items.push(i);
            }
        }
        d.finish()?;
        Ok(items)
    }

    #[test]
    fn an_unknown_stream_type_is_refused_with_its_code() {
        let e = decode_all(&[0x11, 1, 2, 3], 4).unwrap_err();
        assert_eq!(e, CodecError::UnknownStreamType(0x11));
        assert_eq!(e.code(), ErrorCode::UnknownStreamType);
        assert!(!e.code().closes_connection());
    }

    #[test]
    fn an_oversized_object_is_refused_from_its_length_alone() {
        let mut wire = Vec::new();
        header().encode(&mut wire).unwrap();
        varint::encode(MAX_OBJECT + 1, &mut wire).unwrap();
        let e = decode_all(&wire, 100).unwrap_err();
        assert_eq!(e, CodecError::ObjectTooLarge(MAX_OBJECT + 1));
        assert_eq!(e.code(), ErrorCode::ObjectTooLarge);
        let big = Object {
            timestamp: 0,
            keyframe: true,
            payload: Bytes::from(vec![0; MAX_OBJECT as usize]),
        };
        assert!(matches!(
            big.encode(&mut Vec::new()),
            Err(CodecError::ObjectTooLarge(_))
        ));
    }

    #[test]
    fn a_length_past_the_end_of_the_stream_is_a_protocol_violation() {
        let mut wire = Vec::new();
        header().encode(&mut wire).unwrap();
        wire.extend_from_slice(&[20, 0, 1, 9, 9]); // 20 bytes promised, 4 sent
        let e = decode_all(&wire, 3).unwrap_err();
        assert_eq!(e, CodecError::Truncated("object"));
        assert_eq!(e.code(), ErrorCode::ProtocolViolation);
        // Inside a varint, and inside the header.
        let mut wire = Vec::new();
        header().encode(&mut wire).unwrap();
        wire.push(0x80);
        assert_eq!(decode_all(&wire, 7), Err(CodecError::Truncated("varint")));
        assert_eq!(
            decode_all(&[0x10, 0x41], 7),
            Err(CodecError::Truncated("group header"))
        );
    }

    #[test]
    fn malformed_objects_are_protocol_violations() {
        let mut wire = Vec::new();
        header().encode(&mut wire).unwrap();
        let short = [wire.clone(), vec![1, 0x40, 0]].concat(); // length 1 < 2-byte ts + flags
        assert_eq!(decode_all(&short, 9), Err(CodecError::ShortObject(1)));
        let zero = [wire.clone(), vec![0]].concat();
        assert_eq!(decode_all(&zero, 9), Err(CodecError::ShortObject(0)));
        let flags = [wire, vec![3, 0, 0x82, 7]].concat();
        let e = decode_all(&flags, 9).unwrap_err();
        assert_eq!(e, CodecError::ReservedFlags(0x82));
        assert_eq!(e.code(), ErrorCode::ProtocolViolation);
    }

    #[test]
    fn a_truncated_datagram_is_refused() {
        assert_eq!(
            Datagram::decode(Bytes::from_static(&[1, 2, 0x40])),
            Err(CodecError::Truncated("datagram"))
        );
    }

    fn object() -> impl Strategy<Value = Object> {
        (
            0..=varint::MAX,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..2000),
        )
            .prop_map(|(timestamp, keyframe, p)| Object {
                timestamp,
                keyframe,
                payload: Bytes::from(p),
            })
    }

    proptest! {
        #[test]
        fn groups_round_trip_whatever_the_chunking(
            alias in 0..=varint::MAX,
            group in 0..=varint::MAX,
            priority in any::<u8>(),
            objects in proptest::collection::vec(object(), 0..6),
            cut in 1usize..300,
        ) {
            let h = GroupHeader { alias, group, priority };
            let mut wire = Vec::new();
            h.encode(&mut wire).unwrap();
            for o in &objects {
                o.encode(&mut wire).unwrap();
            }
            let items = decode_all(&wire, cut).unwrap();
            let mut want = vec![GroupItem::Header(h)];
            want.extend(objects.into_iter().map(GroupItem::Object));
            prop_assert_eq!(items, want);
        }

        #[test]
        fn datagrams_round_trip(
            v in proptest::array::uniform4(0..=varint::MAX),
            payload in proptest::collection::vec(any::<u8>(), 0..1200),
        ) {
            let d = Datagram { alias: v[0], group: v[1], object: v[2], timestamp: v[3], payload: Bytes::from(payload) };
            let mut out = Vec::new();
            d.encode(&mut out).unwrap();
            prop_assert_eq!(Datagram::decode(Bytes::from(out)).unwrap(), d);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_all(&bytes, 5);
            let _ = Datagram::decode(Bytes::from(bytes.clone()));
            let mut d = crate::codec::ControlDecoder::new();
            d.push(&bytes);
            let _ = d.next_message();
            let _ = d.finish();
        }
    }
}
