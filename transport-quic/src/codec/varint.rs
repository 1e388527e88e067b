//! QUIC variable-length integers (RFC 9000 §16): the two high bits of the
//! first byte give the length (1, 2, 4 or 8 bytes), the rest is the value,
//! big-endian.

use super::CodecError;

/// The largest value a varint holds.
pub const MAX: u64 = (1 << 62) - 1;

/// How many bytes `v` takes, or `None` when it is over [`MAX`].
pub fn size(v: u64) -> Option<usize> {
    match v {
        0..=63 => Some(1),
        64..=16_383 => Some(2),
        16_384..=1_073_741_823 => Some(4),
        1_073_741_824..=MAX => Some(8),
        _ => None,
    }
}

/// Appends `v` in its shortest form.
pub fn encode(v: u64, out: &mut Vec<u8>) -> Result<(), CodecError> {
    match size(v).ok_or(CodecError::VarIntRange(v))? {
        1 => out.push(v as u8),
        2 => out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        4 => out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
        _ => out.extend_from_slice(&(v | 0xC000_0000_0000_0000).to_be_bytes()),
    }
    Ok(())
}

/// Reads a varint from the front of `buf`: `Some((value, bytes used))`, or
/// `None` when `buf` holds only part of one (more bytes may follow).
pub fn decode(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(..len)?;
    let mut v = u64::from(first & 0x3F);
    for b in &bytes[1..] {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, len))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rfc_9000_examples_decode() {
        let cases: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, v) in cases {
            assert_eq!(decode(bytes), Some((v, bytes.len())));
            let mut out = Vec::new();
            encode(v, &mut out).unwrap();
            assert_eq!(out, bytes);
        }
        // A non-minimal encoding is still valid.
        assert_eq!(decode(&[0x40, 0x25]), Some((37, 2)));
    }

    #[test]
    fn a_partial_varint_is_incomplete_and_too_big_a_value_is_refused() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0x9d, 0x7f, 0x3e]), None);
        assert_eq!(decode(&[0xc2]), None);
        let mut out = Vec::new();
        assert_eq!(
            encode(MAX + 1, &mut out),
            Err(CodecError::VarIntRange(MAX + 1))
        );
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn round_trips(v in 0..=MAX, tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut out = Vec::new();
            encode(v, &mut out).unwrap();
            prop_assert_eq!(out.len(), size(v).unwrap());
            let n = out.len();
            out.extend_from_slice(&tail);
            prop_assert_eq!(decode(&out), Some((v, n)));
            prop_assert_eq!(decode(&out[..n - 1]), None);
        }
    }
}
