//! Damaged data directories: recovery never serves a bad record, cuts only a
//! torn tail of the last segment, and refuses (with a typed error, without
//! panicking or changing any file) damage anywhere else.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use caucus_eventlog::embedded::frame;
use caucus_eventlog::embedded::segment::{self, HEADER_LEN};
use caucus_eventlog::embedded::{EmbeddedLog, Options};
use caucus_eventlog::{
    Codec, EventLog, ExpectedRevision, Metadata, NewEvent, OpenError, ReadError, RecordedEvent,
    StreamName,
};
use uuid::Uuid;

fn options() -> Options {
    Options {
        segment_bytes: 4096,
        cache_bytes: 0,
        ..Options::default()
    }
}

fn event(i: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Bincode2,
        payload: vec![i as u8; 20 + i % 90],
        metadata: Metadata {
            actor: Some(format!("peer:{i}")),
            ..Metadata::default()
        },
    }
}

/// A closed store with several segments; returns every event in it.
async fn build(dir: &Path, batches: usize) -> Vec<RecordedEvent> {
    let log = EmbeddedLog::open_with(dir, options()).expect("open");
    for b in 0..batches {
        let s = StreamName::new(format!("room-{}", b % 3)).expect("name");
        let batch = (0..1 + b % 4).map(|i| event(b * 4 + i)).collect();
        log.append(&s, ExpectedRevision::Any, batch)
            .await
            .expect("append");
    }
    let all = read_all(&log).await.expect("read");
    log.close().await;
    all
}

async fn read_all(log: &EmbeddedLog) -> Result<Vec<RecordedEvent>, ReadError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = log.read_all(after, 100).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        out.extend(page);
    }
    Ok(out)
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (_, path) in segment::list(dir).expect("list") {
        let bytes = fs::read(&path).expect("read segment");
        files.insert(path, bytes);
    }
    files
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    for (_, path) in segment::list(from).expect("list") {
        fs::copy(&path, to.path().join(path.file_name().expect("name"))).expect("copy");
    }
    to
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    segment::list(dir)
        .expect("list")
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// Opens a damaged directory that recovery may repair: it must serve a prefix
/// of the original events, each intact, and keep working afterwards.
async fn assert_serves_prefix(dir: &Path, original: &[RecordedEvent], what: &str) -> usize {
    let log = match EmbeddedLog::open_with(dir, options()) {
        Ok(log) => log,
        Err(e) => panic!("{what}: open failed: {e}"),
    };
    let served = read_all(&log)
        .await
        .unwrap_or_else(|e| panic!("{what}: read failed: {e}"));
    assert!(
        served.len() <= original.len(),
        "{what}: more events than written"
    );
    for (s, o) in served.iter().zip(original) {
        assert_eq!(s, o, "{what}: a served event differs from the one written");
    }
    // The store appends right after what it kept.
    let s = StreamName::new("room-after").expect("name");
    let out = log
        .append(&s, ExpectedRevision::NoStream, vec![event(1)])
        .await
        .unwrap_or_else(|e| panic!("{what}: append after recovery failed: {e}"));
    assert_eq!(
        out.first_position.0,
        served.len() as u64,
        "{what}: positions stay dense"
    );
    log.close().await;
    served.len()
}

#[tokio::test]
async fn truncated_last_segment_recovers_to_a_prefix() {
    let src = tempfile::tempdir().expect("temp dir");
    let original = build(src.path(), 40).await;
    let last = segments(src.path()).pop().expect("a segment");
    let len = fs::metadata(&last).expect("stat").len();
    assert!(
        segments(src.path()).len() >= 3,
        "the data spans several segments"
    );
    let mut kept_sizes = std::collections::BTreeSet::new();
    for cut in (0..len).rev() {
        let dir = copy_dir(src.path());
        let seg = dir.path().join(last.file_name().expect("name"));
        fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .and_then(|f| f.set_len(cut))
            .expect("truncate");
        let kept = assert_serves_prefix(dir.path(), &original, &format!("cut at {cut}")).await;
        kept_sizes.insert(kept);
    }
    assert!(
        kept_sizes.len() > 2,
        "cuts at different places keep different prefixes"
    );
}

/// Where each frame of a segment starts.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let (_, layout) = segment::check_header(Path::new("segment"), bytes).expect("header");
    let mut starts = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        starts.push(at);
        at += frame::check(&bytes[at..], layout)
            .expect("intact frame")
            .frame_len(layout);
    }
    starts
}

#[tokio::test]
async fn flipped_bytes_in_the_last_segment_never_serve_a_bad_record() {
    let src = tempfile::tempdir().expect("temp dir");
    let original = build(src.path(), 40).await;
    let last = segments(src.path()).pop().expect("a segment");
    let bytes = fs::read(&last).expect("read");
    // Each append of `build` was answered before the next was written, so
    // every frame but the last is followed by one that records it as
    // durable: damage to it is refused. The last frame is indistinguishable
    // from a torn write and is cut.
    let last_frame = *frame_starts(&bytes)
        .last()
        .expect("frames in the last segment");
    for at in (0..bytes.len()).step_by(3) {
        let dir = copy_dir(src.path());
        let seg = dir.path().join(last.file_name().expect("name"));
        let mut bad = bytes.clone();
        bad[at] ^= 0x5a;
        fs::write(&seg, &bad).expect("write");
        if at < last_frame {
            // A damaged header is never a torn write, nor is a damaged frame
            // that a later frame proves durable: refused, file unchanged.
            let before = snapshot(dir.path());
            match EmbeddedLog::open_with(dir.path(), options()) {
                Err(OpenError::Corrupt { path, .. }) => {
                    assert_eq!(Path::new(&path), seg, "flip at {at}: names the file");
                }
                Err(OpenError::UnsupportedVersion { .. }) if at < HEADER_LEN => {}
                other => panic!("flip at {at}: {other:?}"),
            }
            assert_eq!(
                snapshot(dir.path()),
                before,
                "flip at {at}: refused open changed nothing"
            );
        } else {
            let kept = assert_serves_prefix(dir.path(), &original, &format!("flip at {at}")).await;
            assert_eq!(
                kept,
                original.len() - last_frame_events(&bytes, last_frame),
                "flip at {at}: only the last frame is cut"
            );
        }
    }
}

fn last_frame_events(bytes: &[u8], start: usize) -> usize {
    let (_, layout) = segment::check_header(Path::new("segment"), bytes).expect("header");
    frame::decode(&bytes[start..], layout)
        .expect("intact")
        .0
        .len()
}

#[tokio::test]
async fn damage_before_the_last_segment_is_refused_and_nothing_changes() {
    let src = tempfile::tempdir().expect("temp dir");
    build(src.path(), 40).await;
    let all = segments(src.path());
    assert!(all.len() >= 3);
    for victim in &all[..all.len() - 1] {
        let bytes = fs::read(victim).expect("read");
        for at in (0..bytes.len()).step_by(11) {
            let dir = copy_dir(src.path());
            let seg = dir.path().join(victim.file_name().expect("name"));
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            fs::write(&seg, &bad).expect("write");
            let before = snapshot(dir.path());
            match EmbeddedLog::open_with(dir.path(), options()) {
                Err(OpenError::Corrupt { .. } | OpenError::UnsupportedVersion { .. }) => {}
                other => panic!("flip at {at} of {}: {other:?}", seg.display()),
            }
            assert_eq!(snapshot(dir.path()), before, "refused open changed no file");
        }
        // Cut short too.
        let dir = copy_dir(src.path());
        let seg = dir.path().join(victim.file_name().expect("name"));
        fs::write(&seg, &bytes[..bytes.len() - 5]).expect("write");
        let before = snapshot(dir.path());
        assert!(matches!(
            EmbeddedLog::open_with(dir.path(), options()),
            Err(OpenError::Corrupt { .. })
        ));
        assert_eq!(snapshot(dir.path()), before);
    }
}

#[tokio::test]
async fn a_missing_segment_is_refused() {
    let src = tempfile::tempdir().expect("temp dir");
    build(src.path(), 40).await;
    let all = segments(src.path());
    fs::remove_file(&all[1]).expect("remove");
    let before = snapshot(src.path());
    let r = EmbeddedLog::open_with(src.path(), options());
    assert!(matches!(r, Err(OpenError::Corrupt { .. })), "{r:?}");
    assert_eq!(snapshot(src.path()), before);
}

#[tokio::test]
async fn damage_deep_in_a_large_last_segment_is_refused() {
    // Beyond the torn-tail window (32 MiB) nothing can be a torn write.
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = Options {
        segment_bytes: 1 << 30,
        cache_bytes: 0,
        ..Options::default()
    };
    let log = EmbeddedLog::open_with(dir.path(), opts).expect("open");
    let s = StreamName::new("room-big").expect("name");
    for _ in 0..36 {
        let batch = (0..10)
            .map(|i| NewEvent {
                payload: vec![7; 100_000],
                ..event(i)
            })
            .collect();
        log.append(&s, ExpectedRevision::Any, batch)
            .await
            .expect("append");
    }
    log.close().await;
    let seg = segments(dir.path()).pop().expect("segment");
    let mut bytes = fs::read(&seg).expect("read");
    assert!(bytes.len() > 33 << 20);
    bytes[HEADER_LEN + 500] ^= 0x10;
    fs::write(&seg, &bytes).expect("write");
    let before = snapshot(dir.path());
    let r = EmbeddedLog::open_with(dir.path(), opts);
    assert!(matches!(r, Err(OpenError::Corrupt { .. })), "{r:?}");
    assert_eq!(snapshot(dir.path()), before, "nothing was truncated");
}

#[tokio::test]
async fn a_newer_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), 3).await;
    let seg = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&seg).expect("read");
    let mut header = segment::encode_header(0, 0);
    header[8..12].copy_from_slice(&(segment::FORMAT_VERSION + 1).to_le_bytes());
    let crc = crc32c::crc32c(&header[0..24]);
    header[24..28].copy_from_slice(&crc.to_le_bytes());
    bytes[..HEADER_LEN].copy_from_slice(&header);
    fs::write(&seg, &bytes).expect("write");
    match EmbeddedLog::open_with(dir.path(), options()) {
        Err(OpenError::UnsupportedVersion { found, supported }) => {
            assert_eq!(
                (found, supported),
                (segment::FORMAT_VERSION + 1, segment::FORMAT_VERSION)
            );
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert_eq!(fs::read(&seg).expect("read"), bytes, "nothing changed");
}

#[tokio::test]
async fn corruption_found_while_reading_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = build(dir.path(), 40).await;
    let log = EmbeddedLog::open_with(dir.path(), options()).expect("open");
    // Damage the first segment under the open store (no cache: reads hit disk).
    let seg = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&seg).expect("read");
    bytes[HEADER_LEN + 30] ^= 0xff;
    fs::write(&seg, &bytes).expect("write");
    let r = log.read_all(None, 10).await;
    assert!(matches!(r, Err(ReadError::Corrupt(_))), "{r:?}");
    let r = log.read_stream(&original[0].stream, 0, 10).await;
    assert!(matches!(r, Err(ReadError::Corrupt(_))), "{r:?}");
    // An idempotent retry that must compare with the damaged event fails
    // without writing anything.
    let retry = NewEvent {
        event_id: original[0].event_id,
        event_type: original[0].event_type.clone(),
        schema_version: original[0].schema_version,
        codec: original[0].codec,
        payload: original[0].payload.clone(),
        metadata: original[0].metadata.clone(),
    };
    let r = log
        .append(&original[0].stream, ExpectedRevision::Any, vec![retry])
        .await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(
        log.stream_revision(&original[0].stream).await.expect("rev"),
        Some(
            original
                .iter()
                .filter(|e| e.stream == original[0].stream)
                .count() as u64
                - 1
        )
    );
    log.close().await;
}
