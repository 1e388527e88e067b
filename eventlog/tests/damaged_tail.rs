//! Damage near the end of the last segment: a bad frame that a later frame
//! proves durable (acknowledged) is refused with `OpenError::Corrupt` and no
//! file changes; a torn tail (bytes never acknowledged) is cut and every
//! acknowledged event stays.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use caucus_eventlog::embedded::frame::{self, Layout};
use caucus_eventlog::embedded::segment::{self, HEADER_LEN};
use caucus_eventlog::embedded::{EmbeddedLog, Options};
use caucus_eventlog::{
    Codec, EventLog, ExpectedRevision, Metadata, NewEvent, OpenError, Position, RecordedEvent,
    StreamName,
};
use uuid::Uuid;

fn options() -> Options {
    Options {
        // One segment: everything below lies in the torn-tail window.
        segment_bytes: 1 << 30,
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
        payload: vec![i as u8; 40 + i % 200],
        metadata: Metadata::default(),
    }
}

/// A closed store of acknowledged events, written in many groups of several
/// frames (concurrent appenders) and then some single-frame groups; returns
/// the events as read back.
async fn build(dir: &Path) -> Vec<RecordedEvent> {
    let log = EmbeddedLog::open_with(dir, options()).expect("open");
    let mut acked = 0;
    for round in 0..30 {
        let mut tasks = Vec::new();
        for t in 0..16 {
            let log = log.clone();
            let s = StreamName::new(format!("room-{t}")).expect("name");
            let batch = (0..1 + (round + t) % 3)
                .map(|i| event(round * 64 + i))
                .collect();
            tasks.push(tokio::spawn(async move {
                log.append(&s, ExpectedRevision::Any, batch).await
            }));
        }
        for t in tasks {
            let out = t.await.expect("task").expect("append");
            acked += out.last_position.0 - out.first_position.0 + 1;
        }
    }
    for i in 0..5 {
        let s = StreamName::new("room-last").expect("name");
        log.append(&s, ExpectedRevision::Any, vec![event(i)])
            .await
            .expect("append");
        acked += 1;
    }
    let all = log.read_all(None, usize::MAX).await.expect("read");
    assert_eq!(
        all.len() as u64,
        acked,
        "every acknowledged event is read back"
    );
    log.close().await;
    all
}

fn only_segment(dir: &Path) -> PathBuf {
    let mut all = segment::list(dir).expect("list");
    assert_eq!(all.len(), 1, "one segment");
    all.remove(0).1
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    segment::list(dir)
        .expect("list")
        .into_iter()
        .map(|(_, p)| {
            let bytes = fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

fn hash(files: &BTreeMap<PathBuf, Vec<u8>>) -> u64 {
    let mut h = DefaultHasher::new();
    files.hash(&mut h);
    h.finish()
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    for (_, path) in segment::list(from).expect("list") {
        fs::copy(&path, to.path().join(path.file_name().expect("name"))).expect("copy");
    }
    to
}

/// A frame as found in a segment file.
struct Stored {
    offset: usize,
    len: usize,
    first_position: u64,
    durable: u64,
}

/// The segment's frames and their layout.
fn frames(bytes: &[u8]) -> (Layout, Vec<Stored>) {
    let (_, layout) = segment::check_header(Path::new("segment"), bytes).expect("header");
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let head = frame::check(&bytes[at..], layout).expect("intact frame");
        let (events, len) = frame::decode(&bytes[at..], layout).expect("decodes");
        out.push(Stored {
            offset: at,
            len,
            first_position: events[0].position.0,
            durable: head.durable,
        });
        at += len;
    }
    (layout, out)
}

/// Opens a directory that must recover: every event of `acked` (each
/// acknowledged event, and any complete frame after them) is served, intact,
/// and nothing else.
async fn assert_all_acknowledged_served(dir: &Path, acked: &[RecordedEvent], what: &str) {
    let log = EmbeddedLog::open_with(dir, options())
        .unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
    let served = log.read_all(None, usize::MAX).await.expect("read");
    assert_eq!(served, acked, "{what}: exactly the acknowledged events");
    let s = StreamName::new("room-after").expect("name");
    let out = log
        .append(&s, ExpectedRevision::NoStream, vec![event(1)])
        .await
        .unwrap_or_else(|e| panic!("{what}: append after recovery: {e}"));
    assert_eq!(
        out.first_position,
        Position(acked.len() as u64),
        "{what}: dense"
    );
    log.close().await;
}

#[tokio::test]
async fn a_flip_inside_an_acknowledged_frame_is_refused_and_nothing_changes() {
    let src = tempfile::tempdir().expect("temp dir");
    let acked = build(src.path()).await;
    let seg = only_segment(src.path());
    let bytes = fs::read(&seg).expect("read");
    let (_, all) = frames(&bytes);
    assert!(all.len() > 400, "many frames: {}", all.len());
    let groups = all
        .iter()
        .map(|f| f.durable)
        .collect::<std::collections::BTreeSet<_>>();
    assert!(groups.len() > 30, "many groups: {}", groups.len());
    assert!(
        all.windows(2).any(|w| w[0].durable == w[1].durable),
        "some groups hold several frames"
    );
    // Every frame but the last is proven durable by a later frame, since
    // the appends ended one at a time. Flip a byte in each part of frames
    // spread over the segment: length, body CRC, watermark, header CRC, body.
    let mut refused = 0;
    for f in all[..all.len() - 1].iter().step_by(7) {
        let (offset, len, first) = (f.offset, f.len, f.first_position);
        for at in [0, 5, 9, 17, 20, len / 2, len - 1] {
            let dir = copy_dir(src.path());
            let victim = dir.path().join(seg.file_name().expect("name"));
            let mut bad = bytes.clone();
            bad[offset + at] ^= 0x04;
            fs::write(&victim, &bad).expect("write");
            let before = snapshot(dir.path());
            let hash_before = hash(&before);
            match EmbeddedLog::open_with(dir.path(), options()) {
                Err(OpenError::Corrupt { path, reason }) => {
                    assert_eq!(Path::new(&path), victim);
                    assert!(
                        reason.contains(&format!("at byte {offset}")),
                        "the reason names the frame's offset: {reason}"
                    );
                    assert!(
                        reason.contains(&format!("position {first}")),
                        "the reason names its position: {reason}"
                    );
                }
                Ok(_) => panic!("byte {} of the frame at {offset}: opened", at),
                Err(e) => panic!("byte {at} of the frame at {offset}: {e}"),
            }
            let after = snapshot(dir.path());
            assert_eq!(hash(&after), hash_before, "no file changed");
            assert_eq!(after, before, "no file changed");
            refused += 1;
        }
    }
    assert!(refused > 300);
    // The directory itself was never touched: it still opens whole.
    assert_all_acknowledged_served(src.path(), &acked, "untouched").await;
}

#[tokio::test]
async fn garbage_after_the_last_frame_is_cut() {
    let src = tempfile::tempdir().expect("temp dir");
    let acked = build(src.path()).await;
    let seg = only_segment(src.path());
    let len = fs::metadata(&seg).expect("stat").len();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect()
    };
    let tails = [
        ("zeros", vec![0u8; 70_000]),
        ("noise", noise(300_000)),
        ("a few bytes", noise(5)),
    ];
    for (what, tail) in tails {
        let dir = copy_dir(src.path());
        let victim = dir.path().join(seg.file_name().expect("name"));
        fs::OpenOptions::new()
            .append(true)
            .open(&victim)
            .and_then(|mut f| f.write_all(&tail))
            .expect("append garbage");
        assert_all_acknowledged_served(dir.path(), &acked, what).await;
        let log = EmbeddedLog::open_with(dir.path(), options()).expect("reopen");
        assert_eq!(
            log.read_all(None, usize::MAX).await.expect("read").len(),
            acked.len() + 1
        );
        log.close().await;
        assert!(
            fs::metadata(&victim).expect("stat").len() > len,
            "the new append is kept"
        );
    }
}

/// Encodes the frames of a group the writer was writing when it crashed:
/// `n` frames continuing the log, each recording `durable`.
fn unsynced_group(
    layout: Layout,
    acked: &[RecordedEvent],
    n: usize,
    durable: u64,
) -> Vec<(Vec<u8>, RecordedEvent)> {
    let next = acked.len() as u64;
    let stream = StreamName::new("room-torn").expect("name");
    (0..n as u64)
        .map(|i| {
            let e = event(i as usize);
            let recorded = RecordedEvent {
                event_id: e.event_id,
                stream: stream.clone(),
                revision: i,
                position: Position(next + i),
                event_type: e.event_type,
                schema_version: e.schema_version,
                codec: e.codec,
                payload: e.payload,
                metadata: e.metadata,
                recorded_at_us: 1,
            };
            let mut buf = Vec::new();
            frame::encode(&mut buf, layout, durable, std::slice::from_ref(&recorded));
            (buf, recorded)
        })
        .collect()
}

#[tokio::test]
async fn a_torn_group_is_cut_even_when_a_later_frame_of_it_survived() {
    let src = tempfile::tempdir().expect("temp dir");
    let acked = build(src.path()).await;
    let seg = only_segment(src.path());
    let bytes = fs::read(&seg).expect("read");
    let (layout, _) = frames(&bytes);
    let group = unsynced_group(layout, &acked, 3, acked.len() as u64);
    // Each frame of the group cut short, or its pages lost (zeros) while a
    // later frame of the group reached the disk. The intact frames before it
    // are kept (they were complete, if never acknowledged); nothing after.
    for (victim_frame, cut) in [(0, true), (1, true), (2, true), (0, false), (1, false)] {
        let mut tail: Vec<u8> = Vec::new();
        let mut kept = acked.clone();
        kept.extend(group[..victim_frame].iter().map(|(_, e)| e.clone()));
        for (i, (f, _)) in group.iter().enumerate() {
            let mut f = f.clone();
            if i == victim_frame {
                if cut {
                    f.truncate(f.len() / 2);
                    tail.extend_from_slice(&f);
                    break;
                }
                let mid = f.len() / 2;
                f[4..mid].fill(0);
            }
            tail.extend_from_slice(&f);
        }
        let dir = copy_dir(src.path());
        let victim = dir.path().join(seg.file_name().expect("name"));
        let mut torn = bytes.clone();
        torn.extend_from_slice(&tail);
        fs::write(&victim, &torn).expect("write");
        let what = format!("frame {victim_frame} of the torn group, cut: {cut}");
        assert_all_acknowledged_served(dir.path(), &kept, &what).await;
    }
}

#[tokio::test]
async fn a_damaged_frame_that_a_later_frame_calls_durable_is_refused() {
    // The same damaged group, but its last frame was written after the
    // first one had been synced: the first one was acknowledged.
    let src = tempfile::tempdir().expect("temp dir");
    let acked = build(src.path()).await;
    let seg = only_segment(src.path());
    let bytes = fs::read(&seg).expect("read");
    let (layout, _) = frames(&bytes);
    let mut group: Vec<Vec<u8>> = unsynced_group(layout, &acked, 2, acked.len() as u64)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    let (later, _) = unsynced_group(layout, &acked, 2, acked.len() as u64 + 1)
        .pop()
        .expect("frame");
    group[1] = later;
    let mid = group[0].len() / 2;
    group[0][mid] ^= 0x80;
    let dir = copy_dir(src.path());
    let victim = dir.path().join(seg.file_name().expect("name"));
    let mut damaged = bytes.clone();
    damaged.extend(group.concat());
    fs::write(&victim, &damaged).expect("write");
    let before = snapshot(dir.path());
    match EmbeddedLog::open_with(dir.path(), options()) {
        Err(OpenError::Corrupt { reason, .. }) => {
            assert!(
                reason.contains(&format!("at byte {}", bytes.len())),
                "{reason}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(snapshot(dir.path()), before, "no file changed");
}
