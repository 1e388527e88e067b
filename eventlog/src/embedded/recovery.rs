//! Opening a data directory: scan every segment, rebuild the index, and cut a
//! torn tail — and only a torn tail.
//!
//! At most two groups of the writer are unsynced at any time and together
//! they hold less than [`TORN_WINDOW`] bytes, so after a crash only the last
//! segment's final `TORN_WINDOW` bytes can hold a partly written frame. A bad
//! frame anywhere else is corruption of acknowledged data: open fails with
//! [`OpenError::Corrupt`] and nothing on disk changes.
//!
//! A bad frame inside the window may be either. Every version-2 frame header
//! records the durable watermark its writer knew, under a salted CRC, so
//! recovery resynchronises on the frame headers after the bad frame: if one
//! of them says the bad frame's first position was already durable, the bad
//! frame had been synced (acknowledged, or about to be) and open fails with
//! [`OpenError::Corrupt`], changing nothing. Otherwise it is a torn write
//! (nothing in it was ever acknowledged) and the segment is truncated at its
//! start. Version-1 frames record no watermark and are truncated as before.
//! `docs/embedded-log.md` says what remains ambiguous (the last group or two).
//!
//! The last segment is then synced, so that what a crashed process left in
//! the page cache is durable before new frames call it durable, and a
//! version-1 last segment is followed by a new version-2 one.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::OpenError;
use crate::types::RecordedEvent;

use super::frame::{self, FrameError, Layout};
use super::index::{FrameLoc, Index};
use super::segment::{self, HEADER_LEN, io_err};

/// Most bytes at the end of the last segment that may be unsynced: two
/// groups of the writer (the one being synced and the next).
pub const TORN_WINDOW: u64 = 32 << 20;

/// A segment as recovery leaves it.
#[derive(Debug)]
pub struct Recovered {
    pub index: Index,
    /// Segment paths by base position, each one opened for reading, and the
    /// layout of its frames.
    pub segments: Vec<(PathBuf, File, Layout)>,
    /// The last segment, where the writer appends.
    pub active: Active,
}

/// The last segment as the writer takes it over.
#[derive(Debug)]
pub struct Active {
    /// Opened for writing.
    pub file: File,
    /// Its valid length, all of it synced.
    pub len: u64,
    /// How its frames are laid out (always version 2).
    pub layout: Layout,
}

/// Scans `dir` (creating the first segment when it has none).
pub fn recover(dir: &Path, cache_limit: usize) -> Result<Recovered, OpenError> {
    let mut listed = segment::list(dir)?;
    if listed.is_empty() {
        segment::create(dir, 0)?;
        listed = segment::list(dir)?;
    }
    let mut index = Index::new(cache_limit);
    let mut segments = Vec::with_capacity(listed.len());
    let last = listed.len() - 1;
    let mut truncate_at = None;
    for (i, (base, path)) in listed.iter().enumerate() {
        let corrupt = |reason: String| OpenError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        if *base != index.next_position() {
            return Err(corrupt(format!(
                "segment starts at position {base}, expected {} (a segment is missing or misnamed)",
                index.next_position()
            )));
        }
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let file_len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut reader, &mut header).map_err(|e| io_err(path, e))?;
        let layout = match segment::check_header(path, &header[..got]) {
            Ok((b, layout)) if b == *base => layout,
            Ok((b, _)) => return Err(corrupt(format!("header says base {b}, name says {base}"))),
            // A roll that crashed before its header was durable: no frame was
            // ever written after it, so the header is simply written again.
            Err(OpenError::Corrupt { .. }) if i == last && file_len <= HEADER_LEN as u64 => {
                tracing::warn!(path = %path.display(), "rewriting the torn header of an empty last segment");
                drop(reader);
                let (_, _, layout) = segment::create(dir, *base)?;
                let file = File::open(path).map_err(|e| io_err(path, e))?;
                segments.push((path.clone(), file, layout));
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut offset = HEADER_LEN as u64;
        let segment_no = i as u32;
        loop {
            match next_frame(&mut reader, layout).map_err(|e| io_err(path, e))? {
                Scan::End => break,
                Scan::Bad(err) => {
                    if i == last && err.may_be_torn() && file_len - offset <= TORN_WINDOW {
                        let q = index.next_position();
                        let proof = synced_by_a_later_frame(&file, layout, offset, file_len, q)
                            .map_err(|e| io_err(path, e))?;
                        if let Some((at, durable)) = proof {
                            return Err(corrupt(format!(
                                "{err} at byte {offset}, in the frame of position {q}, which \
                                 was durable: the frame header at byte {at} says every \
                                 position below {durable} was synced before it was written"
                            )));
                        }
                        tracing::warn!(
                            path = %path.display(),
                            offset,
                            dropped_bytes = file_len - offset,
                            "truncating a torn tail ({err})"
                        );
                        truncate_at = Some(offset);
                        break;
                    }
                    return Err(corrupt(format!("{err} at byte {offset}")));
                }
                Scan::Frame(events, len) => {
                    check_follows(&index, &events)
                        .map_err(|why| corrupt(format!("{why} at byte {offset}")))?;
                    let loc = FrameLoc {
                        first_position: events[0].position.0,
                        count: events.len() as u32,
                        segment: segment_no,
                        offset,
                        len: len as u32,
                    };
                    index.push(loc, events);
                    offset += len as u64;
                }
            }
        }
        segments.push((path.clone(), file, layout));
    }
    let (last_path, _, last_layout) = &segments[last];
    let (last_path, last_layout) = (last_path.clone(), *last_layout);
    let active = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&last_path)
        .map_err(|e| io_err(&last_path, e))?;
    let mut active_len = active.metadata().map_err(|e| io_err(&last_path, e))?.len();
    if let Some(at) = truncate_at {
        active.set_len(at).map_err(|e| io_err(&last_path, e))?;
        active_len = at;
    }
    // What a crashed process wrote may still be only in the page cache: make
    // it durable before the writer records it as durable in new frames.
    active.sync_all().map_err(|e| io_err(&last_path, e))?;
    if last_layout != Layout::V1 {
        return Ok(Recovered {
            index,
            segments,
            active: Active {
                file: active,
                len: active_len,
                layout: last_layout,
            },
        });
    }
    // New frames are always version 2: follow a version-1 last segment with a
    // new segment, or give an empty one a version-2 header.
    drop(active);
    let base = index.next_position();
    if active_len <= HEADER_LEN as u64 {
        segments.pop();
    }
    tracing::info!(base, "starting a version-2 segment after a version-1 one");
    let (path, active, layout) = segment::create(dir, base)?;
    let file = File::open(&path).map_err(|e| io_err(&path, e))?;
    segments.push((path, file, layout));
    Ok(Recovered {
        index,
        segments,
        active: Active {
            file: active,
            len: HEADER_LEN as u64,
            layout,
        },
    })
}

/// Whether the bad frame at byte `from` of the segment, which holds position
/// `q`, was synced before: resynchronises on every later frame header (each
/// byte offset, jumping over whole valid frames) and returns the first one
/// that says position `q` was durable, as (its offset, its watermark).
fn synced_by_a_later_frame(
    file: &File,
    layout: Layout,
    from: u64,
    file_len: u64,
    q: u64,
) -> std::io::Result<Option<(u64, u64)>> {
    if layout == Layout::V1 {
        return Ok(None);
    }
    // Bounded by the torn window.
    let mut tail = vec![0u8; (file_len - from) as usize];
    file.read_exact_at(&mut tail, from)?;
    let mut at = 1;
    while at + layout.header_len() <= tail.len() {
        let Ok(head) = frame::head(&tail[at..], layout) else {
            at += 1;
            continue;
        };
        if head.durable > q {
            return Ok(Some((from + at as u64, head.durable)));
        }
        at += match frame::check(&tail[at..], layout) {
            Ok(_) => head.frame_len(layout),
            Err(_) => 1,
        };
    }
    Ok(None)
}

/// A frame's events must continue the log: the next position, the stream's
/// next revision, ids never seen.
fn check_follows(index: &Index, events: &[RecordedEvent]) -> Result<(), String> {
    let first = &events[0];
    if first.position.0 != index.next_position() {
        return Err(format!(
            "frame starts at position {}, expected {}",
            first.position,
            index.next_position()
        ));
    }
    let next_rev = index.stream_revision(&first.stream).map_or(0, |r| r + 1);
    if first.revision != next_rev {
        return Err(format!(
            "frame of {} starts at revision {}, expected {next_rev}",
            first.stream, first.revision
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for e in events {
        if index.position_of(&e.event_id).is_some() || !seen.insert(e.event_id) {
            return Err(format!("event id {} stored twice", e.event_id));
        }
    }
    Ok(())
}

enum Scan {
    End,
    Frame(Vec<RecordedEvent>, usize),
    Bad(FrameError),
}

fn next_frame(reader: &mut impl Read, layout: Layout) -> std::io::Result<Scan> {
    let header_len = layout.header_len();
    let mut buf = vec![0u8; header_len];
    let got = read_full(reader, &mut buf)?;
    if got == 0 {
        return Ok(Scan::End);
    }
    if got < header_len {
        return Ok(Scan::Bad(FrameError::Short));
    }
    let head = match frame::head(&buf, layout) {
        Ok(head) => head,
        Err(e) => return Ok(Scan::Bad(e)),
    };
    buf.resize(head.frame_len(layout), 0);
    let got = read_full(reader, &mut buf[header_len..])?;
    if got < head.body_len as usize {
        return Ok(Scan::Bad(FrameError::Short));
    }
    Ok(match frame::decode(&buf, layout) {
        Ok((events, len)) => Scan::Frame(events, len),
        Err(e) => Scan::Bad(e),
    })
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
