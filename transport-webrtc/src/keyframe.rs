//! Whether an RTP packet starts a keyframe, read from its payload (str0m's
//! RTP mode hands the SFU packets, not frames). Used to hold a simulcast
//! layer switch until the new layer can be decoded from that packet on.

use str0m::format::Codec;

/// True when `payload` (an RTP payload of `codec`) is the first packet of a
/// keyframe. Unknown codecs and malformed payloads are never keyframes.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => caucus_media::convert::vp8::starts_keyframe(payload),
        Codec::Vp9 => vp9(payload),
        Codec::H264 => h264(payload),
        _ => false,
    }
}

/// draft-ietf-payload-vp9: the first byte's P bit (inter-picture predicted)
/// is clear and B (start of frame) is set.
fn vp9(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    let inter = first & 0x40 != 0;
    let begin = first & 0x08 != 0;
    begin && !inter
}

/// RFC 6184: an IDR slice or SPS, alone, first in a STAP-A, or at the start
/// of an FU-A.
fn h264(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    let key = |nal: u8| matches!(nal & 0x1f, 5 | 7);
    match first & 0x1f {
        24 => p.get(3).is_some_and(|&n| key(n)),
        28 => p.get(1).is_some_and(|&h| h & 0x80 != 0 && key(h)),
        _ => key(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_key_and_delta_frames() {
        // X=1, S=1, PID=0; I=1 (15-bit picture id); then the frame header.
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x81, 0x23, 0x10]));
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x90, 0x80, 0x81, 0x23, 0x11]
        ));
        // Not the start of partition 0.
        assert!(!starts_keyframe(
            Codec::Vp8,
            &[0x80, 0x80, 0x81, 0x23, 0x10]
        ));
        // No extension: the header follows the first byte.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x9c]));
        assert!(!starts_keyframe(Codec::Vp8, &[]));
    }

    #[test]
    fn vp9_and_h264() {
        assert!(starts_keyframe(Codec::Vp9, &[0x88]));
        assert!(!starts_keyframe(Codec::Vp9, &[0xc8]));
        assert!(starts_keyframe(Codec::H264, &[0x65]));
        assert!(starts_keyframe(Codec::H264, &[0x18, 0x00, 0x05, 0x67]));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05]));
        assert!(!starts_keyframe(Codec::H264, &[0x41]));
    }
}
