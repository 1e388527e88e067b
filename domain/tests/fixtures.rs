//! Golden fixtures: every event type and schema version decodes from its
//! committed bytes to the canonical sample, and current versions still encode
//! to exactly those bytes.
//!
//! `CAUCUS_WRITE_FIXTURES=1 cargo test -p caucus-domain --test fixtures` writes
//! fixtures that are *missing*; it never overwrites one (see fixtures/README.md).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use caucus_domain::*;
use common::samples::{room_event_samples, template_event_samples};

fn dir() -> PathBuf {
    // Read at run time (cargo sets it when it runs a test), so a test binary
    // built in another checkout reads this checkout's fixtures.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    Path::new(&root).join("tests/fixtures")
}

fn path(event_type: &str, version: u16) -> PathBuf {
    dir().join(format!("{event_type}.v{version}.bin"))
}

fn check_all<E: DomainEvent + PartialEq + std::fmt::Debug>(
    samples: &[E],
    types: &[(&'static str, u16)],
) {
    let sampled: BTreeSet<_> = samples
        .iter()
        .map(|e| (e.event_type(), e.schema_version()))
        .collect();
    let declared: BTreeSet<_> = types.iter().copied().collect();
    assert_eq!(
        sampled, declared,
        "every event type needs exactly one canonical sample"
    );
    let write = std::env::var_os("CAUCUS_WRITE_FIXTURES").is_some_and(|v| v == "1");
    for sample in samples {
        let (t, v) = (sample.event_type(), sample.schema_version());
        let p = path(t, v);
        if write && !p.exists() {
            std::fs::write(&p, sample.encode()).unwrap();
        }
        let bytes = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "missing fixture {} ({e}); see tests/fixtures/README.md",
                p.display()
            )
        });
        let decoded = E::decode(t, v, &bytes).unwrap_or_else(|e| panic!("{t} v{v}: {e}"));
        assert_eq!(
            &decoded, sample,
            "{t} v{v} fixture decodes to something else"
        );
        assert_eq!(
            sample.encode(),
            bytes,
            "{t} v{v} no longer encodes to its fixture: add a new version"
        );
    }
}

#[test]
fn every_room_event_matches_its_fixture() {
    check_all(&room_event_samples(), RoomEvent::TYPES);
}

#[test]
fn every_template_event_matches_its_fixture() {
    check_all(&template_event_samples(), TemplateEvent::TYPES);
}

#[test]
fn every_fixture_file_still_decodes() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        let (t, v) = stem
            .rsplit_once(".v")
            .expect("fixture names are <Type>.v<N>.bin");
        let v: u16 = v.parse().unwrap();
        let bytes = std::fs::read(dir().join(&name)).unwrap();
        let room = RoomEvent::decode(t, v, &bytes).map(|_| ());
        let template = TemplateEvent::decode(t, v, &bytes).map(|_| ());
        assert!(
            room.is_ok() || template.is_ok(),
            "{name}: {room:?} / {template:?}"
        );
    }
}

#[test]
fn type_names_are_unique_across_aggregates() {
    let mut names = BTreeSet::new();
    for (t, _) in RoomEvent::TYPES.iter().chain(TemplateEvent::TYPES) {
        assert!(names.insert(*t), "{t} is declared twice");
    }
}

#[test]
fn unknown_type_is_reported() {
    assert_eq!(
        RoomEvent::decode("NoSuchEvent", 1, &[]),
        Err(DecodeError::UnknownType("NoSuchEvent".into()))
    );
}

#[test]
fn unknown_version_is_reported() {
    assert_eq!(
        RoomEvent::decode("PeerJoined", 99, &[]),
        Err(DecodeError::UnknownVersion {
            event_type: "PeerJoined".into(),
            version: 99
        })
    );
}

#[test]
fn truncated_payload_is_malformed() {
    let sample = &room_event_samples()[6];
    let bytes = sample.encode();
    let err = RoomEvent::decode(sample.event_type(), 1, &bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err:?}");
}

#[test]
fn trailing_bytes_are_malformed() {
    let sample = &room_event_samples()[6];
    let mut bytes = sample.encode();
    bytes.push(0);
    let err = RoomEvent::decode(sample.event_type(), 1, &bytes).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err:?}");
}

#[test]
fn invalid_id_inside_a_payload_is_malformed() {
    // A PeerJoined whose peer id bytes are not a UUID must not decode.
    let sample = &room_event_samples()[6];
    let mut bytes = sample.encode();
    let i = bytes.iter().position(|b| *b == b'-').unwrap();
    bytes[i] = b'x';
    let err = RoomEvent::decode(sample.event_type(), 1, &bytes).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err:?}");
}

#[test]
fn template_decode_rejects_room_types() {
    assert!(matches!(
        TemplateEvent::decode("PeerJoined", 1, &[]),
        Err(DecodeError::UnknownType(_))
    ));
}

#[test]
fn a_huge_length_prefix_is_malformed_not_an_allocation() {
    // PeerUpdated: peer id, then `name: Some(String)` whose length claims 1 TiB.
    let mut bytes = vec![36];
    bytes.extend_from_slice(b"00000000-0000-4000-8000-000000000001");
    bytes.push(1);
    bytes.push(253); // varint marker: a u64 follows
    bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let err = RoomEvent::decode("PeerUpdated", 1, &bytes).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err:?}");
}

#[test]
fn a_huge_role_count_is_malformed_not_an_allocation() {
    // RoleDeleted is small; TemplateUpdated starts with a name then a roles map.
    let mut bytes = vec![1, b'n', 253];
    bytes.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
    let err = TemplateEvent::decode("TemplateUpdated", 1, &bytes).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err:?}");
}

proptest::proptest! {
    /// Corrupt bytes give an error, never a panic or an abort.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        which in 0usize..24,
    ) {
        let all: Vec<_> = RoomEvent::TYPES.iter().chain(TemplateEvent::TYPES).collect();
        let (t, v) = *all[which % all.len()];
        let _ = RoomEvent::decode(t, v, &bytes);
        let _ = TemplateEvent::decode(t, v, &bytes);
    }

    /// Flipping or cutting bytes of real payloads never panics either.
    #[test]
    fn decoding_damaged_fixtures_never_panics(
        which in 0usize..24,
        at in 0usize..4096,
        byte in proptest::prelude::any::<u8>(),
        cut in proptest::prelude::any::<bool>(),
    ) {
        let room = room_event_samples();
        let template = template_event_samples();
        let (t, v, mut bytes) = if which < room.len() {
            let e = &room[which];
            (e.event_type(), e.schema_version(), e.encode())
        } else {
            let e = &template[which % template.len()];
            (e.event_type(), e.schema_version(), e.encode())
        };
        let i = at % bytes.len().max(1);
        if cut {
            bytes.truncate(i);
        } else if let Some(b) = bytes.get_mut(i) {
            *b = byte;
        }
        let _ = RoomEvent::decode(t, v, &bytes);
        let _ = TemplateEvent::decode(t, v, &bytes);
    }
}
