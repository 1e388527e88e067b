//! Control-stream framing (docs/quic-protocol.md §3): `len (varint) ‖ UTF-8
//! JSON`, at most [`MAX_MESSAGE`] bytes per message.

use bytes::{Buf, BytesMut};

use super::{CodecError, varint};

/// The largest control message, in bytes (1 MiB).
pub const MAX_MESSAGE: u64 = 1 << 20;

/// Appends one framed control message.
pub fn encode_message(json: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let len = json.len() as u64;
    if len > MAX_MESSAGE {
        return Err(CodecError::MessageTooLarge(len));
    }
    varint::encode(len, out)?;
    out.extend_from_slice(json.as_bytes());
    Ok(())
}

/// Splits the bytes of a control stream into messages. Feed it with
/// [`push`](Self::push), drain [`next`](Self::next) until `Ok(None)`, and
/// call [`finish`](Self::finish) when the stream ends.
#[derive(Debug, Default)]
pub struct ControlDecoder {
    buf: BytesMut,
}

impl ControlDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, `Ok(None)` when more bytes are needed. An
    /// oversized length is refused as soon as it is read, before its body.
    pub fn next_message(&mut self) -> Result<Option<String>, CodecError> {
        let Some((len, n)) = varint::decode(&self.buf) else {
            return Ok(None);
        };
        if len > MAX_MESSAGE {
            return Err(CodecError::MessageTooLarge(len));
        }
        let end = n + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        self.buf.advance(n);
        let body = self.buf.split_to(len as usize);
        String::from_utf8(body.to_vec())
            .map(Some)
            .map_err(|_| CodecError::NotUtf8)
    }

    /// The stream ended: an error when it ended inside a message.
    pub fn finish(&self) -> Result<(), CodecError> {
        if self.buf.is_empty() {
            Ok(())
        } else if varint::decode(&self.buf).is_none() {
            Err(CodecError::Truncated("varint"))
        } else {
            Err(CodecError::Truncated("control message"))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::ErrorCode;

    #[test]
    fn an_oversized_length_is_refused_before_its_body_arrives() {
        let mut d = ControlDecoder::new();
        let mut len = Vec::new();
        varint::encode(MAX_MESSAGE + 1, &mut len).unwrap();
        d.push(&len);
        let e = d.next_message().unwrap_err();
        assert_eq!(e, CodecError::MessageTooLarge(MAX_MESSAGE + 1));
        assert_eq!(e.code(), ErrorCode::MessageTooLarge);
        assert!(e.code().closes_connection());
        let big = "x".repeat(MAX_MESSAGE as usize + 1);
        assert!(encode_message(&big, &mut Vec::new()).is_err());
        // Exactly 1 MiB is allowed.
        let mut out = Vec::new();
        encode_message(&big[1..], &mut out).unwrap();
        d = ControlDecoder::new();
        d.push(&out);
        assert_eq!(
            d.next_message().unwrap().unwrap().len(),
            MAX_MESSAGE as usize
        );
    }

    #[test]
    fn a_stream_that_ends_inside_a_varint_or_a_message_is_a_protocol_violation() {
        let mut d = ControlDecoder::new();
        d.push(&[0x40]);
        assert_eq!(d.next_message(), Ok(None));
        assert_eq!(d.finish(), Err(CodecError::Truncated("varint")));
        let mut d = ControlDecoder::new();
        d.push(&[5, b'{', b'}']);
        assert_eq!(d.next_message(), Ok(None));
        let e = d.finish().unwrap_err();
        assert_eq!(e, CodecError::Truncated("control message"));
        assert_eq!(e.code(), ErrorCode::ProtocolViolation);
    }

    #[test]
    fn invalid_utf8_is_a_protocol_violation() {
        let mut d = ControlDecoder::new();
        d.push(&[2, 0xff, 0xfe]);
        let e = d.next_message().unwrap_err();
        assert_eq!(e, CodecError::NotUtf8);
        assert_eq!(e.code(), ErrorCode::ProtocolViolation);
    }

    proptest! {
        #[test]
        fn messages_round_trip_whatever_the_chunking(
            msgs in proptest::collection::vec(".{0,300}", 0..8),
            cut in 1usize..64,
        ) {
            let mut wire = Vec::new();
            for m in &msgs {
                encode_message(m, &mut wire).unwrap();
            }
            let mut d = ControlDecoder::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                d.push(chunk);
                while let Some(m) = d.next_message().unwrap() {
                    got.push(m);
                }
            }
            prop_assert_eq!(d.finish(), Ok(()));
            prop_assert_eq!(got, msgs);
        }
    }
}
