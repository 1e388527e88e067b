use proptest::prelude::*;

use super::*;

/// A VP8 frame body whose header says key (P = 0) or delta (P = 1).
fn vp8_frame(key: bool, len: usize, fill: u8) -> Vec<u8> {
    let mut f = vec![fill; len.max(3)];
    f[0] = if key { 0x10 } else { 0x11 };
    f
}

fn depacketize_all(d: &mut Depacketizer, pkts: &[RtpOut]) -> Vec<Depacketized> {
    pkts.iter()
        .map(|p| {
            d.push(RtpIn {
                seq: p.seq,
                timestamp: p.timestamp,
                marker: p.marker,
                payload: &p.payload,
            })
        })
        .filter(|r| r != &Depacketized::Nothing)
        .collect()
}

proptest! {
    /// Frames → RTP → frames gives the same frames, grouped at keyframes,
    /// whatever their sizes (one packet or many).
    #[test]
    fn vp8_frames_survive_packetizing_and_depacketizing(
        frames in proptest::collection::vec((any::<bool>(), 1usize..5000, any::<u8>()), 1..40)
    ) {
        let mut p = Packetizer::new(Codec::Vp8, 90_000);
        let mut d = Depacketizer::new(Codec::Vp8);
        let mut expected_group: Option<u64> = None;
        let mut object = 0;
        for (i, (key, len, fill)) in frames.iter().enumerate() {
            let key = *key || i == 0;
            let body = vp8_frame(key, *len, *fill);
            let ts = 3000 * i as u64;
            let pkts = p.packetize(ts, &body);
            prop_assert!(pkts.iter().all(|x| x.payload.len() <= MAX_FRAGMENT + 1));
            prop_assert_eq!(pkts.iter().filter(|x| x.marker).count(), 1);
            let out = depacketize_all(&mut d, &pkts);
            if key {
                expected_group = Some(expected_group.map_or(0, |g| g + 1));
                object = 0;
            } else {
                object += 1;
            }
            match &out[..] {
                [Depacketized::Frame(f)] => {
                    prop_assert_eq!(&f.payload[..], &body[..]);
                    prop_assert_eq!(f.keyframe, key);
                    prop_assert_eq!((Some(f.group), f.object), (expected_group, object));
                }
                other => prop_assert!(false, "frame {i}: {other:?}"),
            }
        }
    }
}

#[test]
fn timestamps_follow_the_timescale_and_sequence_numbers_run_on() {
    let mut p = Packetizer::new(Codec::Vp8, 1000);
    let a = p.packetize(1000, &vp8_frame(true, 2500, 1));
    let b = p.packetize(1033, &vp8_frame(false, 10, 1));
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].timestamp, 90_000);
    assert_eq!(b[0].timestamp, 92_970);
    assert_eq!(b[0].seq, a[2].seq + 1);

    let mut d = Depacketizer::new(Codec::Vp8);
    let out = depacketize_all(&mut d, &[a, b].concat());
    let [Depacketized::Frame(f1), Depacketized::Frame(f2)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(f2.timestamp - f1.timestamp, 2970);
}

#[test]
fn a_lost_packet_drops_frames_until_the_next_keyframe_and_asks_for_one() {
    let mut p = Packetizer::new(Codec::Vp8, 90_000);
    let mut d = Depacketizer::new(Codec::Vp8);
    let key = p.packetize(0, &vp8_frame(true, 100, 0));
    let delta = p.packetize(3000, &vp8_frame(false, 2500, 0));
    let after = p.packetize(6000, &vp8_frame(false, 100, 0));
    let next_key = p.packetize(9000, &vp8_frame(true, 100, 0));
    assert!(matches!(
        &depacketize_all(&mut d, &key)[..],
        [Depacketized::Frame(_)]
    ));
    // The delta frame's middle packet is lost.
    let mut lossy = delta.clone();
    lossy.remove(1);
    let out = depacketize_all(&mut d, &lossy);
    assert!(
        out.iter().all(|r| r == &Depacketized::NeedKeyframe),
        "{out:?}"
    );
    assert!(!out.is_empty());
    assert_eq!(
        depacketize_all(&mut d, &after),
        [Depacketized::NeedKeyframe]
    );
    match &depacketize_all(&mut d, &next_key)[..] {
        [Depacketized::Frame(f)] => assert!(f.keyframe && f.group == 1 && f.object == 0),
        other => panic!("{other:?}"),
    }
    // A duplicate is ignored.
    let last = next_key.last().unwrap();
    let dup = RtpIn {
        seq: last.seq,
        timestamp: last.timestamp,
        marker: true,
        payload: &last.payload,
    };
    assert_eq!(d.push(dup), Depacketized::Nothing);
}

#[test]
fn delta_frames_before_the_first_keyframe_are_not_passed_on() {
    let mut p = Packetizer::new(Codec::Vp8, 90_000);
    let mut d = Depacketizer::new(Codec::Vp8);
    let delta = p.packetize(0, &vp8_frame(false, 10, 0));
    assert_eq!(
        depacketize_all(&mut d, &delta),
        [Depacketized::NeedKeyframe]
    );
    let garbage = RtpIn {
        seq: 100,
        timestamp: 1,
        marker: true,
        payload: &[0x80],
    };
    assert_eq!(d.push(garbage), Depacketized::NeedKeyframe);
}

#[test]
fn opus_packets_are_frames_each_its_own_group() {
    let mut p = Packetizer::new(Codec::Opus, 48_000);
    let mut d = Depacketizer::new(Codec::Opus);
    let mut groups = Vec::new();
    for i in 0..3u64 {
        let pkts = p.packetize(960 * i, &[0xfc, i as u8]);
        assert_eq!(pkts.len(), 1);
        assert!(!pkts[0].marker);
        for r in depacketize_all(&mut d, &pkts) {
            let Depacketized::Frame(f) = r else {
                panic!("{r:?}")
            };
            assert_eq!(f.object, 0);
            assert_eq!(&f.payload[..], [0xfc, i as u8]);
            groups.push(f.group);
        }
    }
    assert_eq!(groups, [0, 1, 2]);
}

#[test]
fn codec_names_are_read_from_either_transport() {
    assert_eq!(Codec::from_name("VP8"), Some(Codec::Vp8));
    assert_eq!(Codec::from_name("opus"), Some(Codec::Opus));
    assert_eq!(Codec::from_name("h264"), None);
    assert_eq!(Codec::Vp8.kind(), TrackKind::Video);
    assert_eq!(Codec::Opus.clock_rate(), 48_000);
}
