//! Data written in segment format version 1 (`tests/fixtures/v1`, see its
//! README) still opens and reads; new data goes to a version-2 segment after
//! it, and the version-1 files are never rewritten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use caucus_eventlog::embedded::frame::Layout;
use caucus_eventlog::embedded::segment::{self, HEADER_LEN};
use caucus_eventlog::embedded::{EmbeddedLog, Options};
use caucus_eventlog::{
    Codec, EventLog, ExpectedRevision, Metadata, NewEvent, OpenError, Position, RecordedEvent,
    StreamName,
};
use uuid::Uuid;

const EVENTS: u64 = 48;

fn options() -> Options {
    Options {
        segment_bytes: 2048,
        cache_bytes: 0,
        ..Options::default()
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn copy_fixture() -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    for (_, path) in segment::list(&fixture()).expect("list") {
        fs::copy(&path, to.path().join(path.file_name().expect("name"))).expect("copy");
    }
    to
}

/// The events the fixture holds, as its README describes them (the time
/// they were recorded aside).
fn expected() -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut revisions = [0u64; 3];
    for b in 0..24u32 {
        let stream = StreamName::new(format!("room-{}", b % 3)).expect("name");
        for i in 0..1 + b % 3 {
            let k = b * 4 + i;
            out.push(RecordedEvent {
                event_id: Uuid::from_u128(0x1000 + u128::from(k)),
                stream: stream.clone(),
                revision: revisions[(b % 3) as usize],
                position: Position(out.len() as u64),
                event_type: if k % 2 == 0 { "PeerJoined" } else { "PeerLeft" }.into(),
                schema_version: 1 + (k % 2) as u16,
                codec: if k % 3 == 0 {
                    Codec::Json
                } else {
                    Codec::Bincode2
                },
                payload: vec![k as u8; 10 + (k as usize * 7) % 60],
                metadata: Metadata {
                    actor: (k % 2 == 0).then(|| format!("peer:{k}")),
                    correlation_id: (k % 3 == 0).then(|| Uuid::from_u128(0x2000 + u128::from(k))),
                    causation_id: (k % 5 == 0).then(|| Uuid::from_u128(0x3000 + u128::from(k))),
                },
                recorded_at_us: 0,
            });
            revisions[(b % 3) as usize] += 1;
        }
    }
    out
}

fn without_time(events: &[RecordedEvent]) -> Vec<RecordedEvent> {
    events
        .iter()
        .map(|e| {
            assert!(e.recorded_at_us > 0, "a recording time is stored");
            RecordedEvent {
                recorded_at_us: 0,
                ..e.clone()
            }
        })
        .collect()
}

fn layouts(dir: &Path) -> Vec<(u64, Layout)> {
    segment::list(dir)
        .expect("list")
        .into_iter()
        .map(|(base, path)| {
            let bytes = fs::read(&path).expect("read");
            let (b, layout) = segment::check_header(&path, &bytes).expect("header");
            assert_eq!(b, base);
            (base, layout)
        })
        .collect()
}

#[tokio::test]
async fn the_fixture_is_version_1() {
    let found = layouts(&fixture());
    assert!(found.len() >= 3, "several segments: {found:?}");
    assert!(found.iter().all(|&(_, l)| l == Layout::V1), "{found:?}");
}

#[tokio::test]
async fn a_version_1_directory_opens_reads_and_takes_new_appends() {
    let dir = copy_fixture();
    let v1_files: Vec<(PathBuf, Vec<u8>)> = segment::list(dir.path())
        .expect("list")
        .into_iter()
        .map(|(_, p)| {
            let bytes = fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect();
    let log = EmbeddedLog::open_with(dir.path(), options()).expect("open");
    let all = log.read_all(None, usize::MAX).await.expect("read");
    assert_eq!(without_time(&all), expected());
    let room1 = StreamName::new("room-1").expect("name");
    let stream = log.read_stream(&room1, 0, usize::MAX).await.expect("read");
    let want: Vec<RecordedEvent> = expected()
        .into_iter()
        .filter(|e| e.stream == room1)
        .collect();
    assert_eq!(without_time(&stream), want);
    assert_eq!(
        log.stream_revision(&room1).await.expect("rev"),
        Some(want.len() as u64 - 1)
    );

    // Appends continue the log, in a version-2 segment.
    let new = NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Json,
        payload: b"{}".to_vec(),
        metadata: Metadata::default(),
    };
    let out = log
        .append(
            &room1,
            ExpectedRevision::Exact(want.len() as u64 - 1),
            vec![new],
        )
        .await
        .expect("append");
    assert_eq!(out.first_position, Position(EVENTS));
    // A retry of a version-1 event is recognised.
    let retry = &expected()[0];
    let again = NewEvent {
        event_id: retry.event_id,
        event_type: retry.event_type.clone(),
        schema_version: retry.schema_version,
        codec: retry.codec,
        payload: retry.payload.clone(),
        metadata: retry.metadata.clone(),
    };
    let out = log
        .append(&retry.stream, ExpectedRevision::Any, vec![again])
        .await
        .expect("retry");
    assert!(out.already_appended);
    log.close().await;

    let found = layouts(dir.path());
    let (base, layout) = *found.last().expect("segments");
    assert_eq!(base, EVENTS, "a new segment after the version-1 data");
    assert!(matches!(layout, Layout::V2 { .. }), "{found:?}");
    for (path, bytes) in &v1_files {
        assert_eq!(
            &fs::read(path).expect("read"),
            bytes,
            "version-1 files unchanged"
        );
    }

    // And it all reopens.
    let log = EmbeddedLog::open_with(dir.path(), options()).expect("reopen");
    let all = log.read_all(None, usize::MAX).await.expect("read");
    assert_eq!(all.len() as u64, EVENTS + 1);
    assert_eq!(without_time(&all[..EVENTS as usize]), expected());
    log.close().await;
}

#[tokio::test]
async fn a_torn_tail_of_a_version_1_last_segment_is_cut_as_before() {
    let dir = copy_fixture();
    let (_, last) = segment::list(dir.path())
        .expect("list")
        .pop()
        .expect("segment");
    fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .and_then(|mut f| f.write_all(&[0x55; 300]))
        .expect("append garbage");
    let log = EmbeddedLog::open_with(dir.path(), options()).expect("open");
    let all = log.read_all(None, usize::MAX).await.expect("read");
    assert_eq!(without_time(&all), expected());
    log.close().await;
    let fixture_last = fixture().join(last.file_name().expect("name"));
    assert_eq!(
        fs::read(&last).expect("read"),
        fs::read(fixture_last).expect("read"),
        "cut back to what was written"
    );
}

#[tokio::test]
async fn once_followed_damage_in_a_version_1_segment_is_refused() {
    let dir = copy_fixture();
    let log = EmbeddedLog::open_with(dir.path(), options()).expect("open");
    log.close().await;
    // The last version-1 segment is no longer the last segment.
    let v1_last = segment::list(dir.path())
        .expect("list")
        .into_iter()
        .rev()
        .nth(1)
        .expect("segment")
        .1;
    let mut bytes = fs::read(&v1_last).expect("read");
    let at = bytes.len() - 10;
    assert!(at > HEADER_LEN);
    bytes[at] ^= 0x01;
    fs::write(&v1_last, &bytes).expect("write");
    let r = EmbeddedLog::open_with(dir.path(), options());
    assert!(matches!(r, Err(OpenError::Corrupt { .. })), "{r:?}");
    assert_eq!(fs::read(&v1_last).expect("read"), bytes, "nothing changed");
}
