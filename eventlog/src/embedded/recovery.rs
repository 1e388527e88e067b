//! Opening a data directory: scan every segment, rebuild the index, and cut a
//! torn tail.
//!
//! At most two groups of the writer are unsynced at any time and together
//! they hold less than [`TORN_WINDOW`] bytes, so after a crash only the last
//! segment's final `TORN_WINDOW` bytes can hold a partly written frame. A bad frame there is a
//! torn write: recovery truncates the segment at its start (nothing in it was
//! ever acknowledged). A bad frame anywhere else is corruption of acknowledged
//! data: open fails with [`OpenError::Corrupt`] and nothing on disk changes.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::OpenError;
use crate::types::RecordedEvent;

use super::frame::{self, FRAME_HEADER_LEN, FrameError, MAX_BODY_LEN};
use super::index::{FrameLoc, Index};
use super::segment::{self, HEADER_LEN, io_err};

/// Most bytes at the end of the last segment that may be unsynced: two
/// groups of the writer (the one being synced and the next).
pub const TORN_WINDOW: u64 = 32 << 20;

/// A segment as recovery leaves it.
#[derive(Debug)]
pub struct Recovered {
    pub index: Index,
    /// Segment paths by base position, and each one opened for reading.
    pub segments: Vec<(PathBuf, File)>,
    /// The last segment, opened for writing, and its valid length.
    pub active: File,
    pub active_len: u64,
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
        match segment::check_header(path, &header[..got]) {
            Ok(b) if b == *base => {}
            Ok(b) => return Err(corrupt(format!("header says base {b}, name says {base}"))),
            // A roll that crashed before its header was durable: no frame was
            // ever written after it, so the header is simply written again.
            Err(OpenError::Corrupt { .. }) if i == last && file_len <= HEADER_LEN as u64 => {
                tracing::warn!(path = %path.display(), "rewriting the torn header of an empty last segment");
                drop(reader);
                segment::create(dir, *base)?;
                let file = File::open(path).map_err(|e| io_err(path, e))?;
                segments.push((path.clone(), file));
                continue;
            }
            Err(e) => return Err(e),
        }
        let mut offset = HEADER_LEN as u64;
        let segment_no = i as u32;
        loop {
            match next_frame(&mut reader).map_err(|e| io_err(path, e))? {
                Scan::End => break,
                Scan::Bad(err) => {
                    let torn = matches!(
                        err,
                        FrameError::Short | FrameError::BadLength(_) | FrameError::BadChecksum
                    );
                    if i == last && torn && file_len - offset <= TORN_WINDOW {
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
        segments.push((path.clone(), file));
    }
    let (last_path, _) = &segments[last];
    let active = OpenOptions::new()
        .read(true)
        .write(true)
        .open(last_path)
        .map_err(|e| io_err(last_path, e))?;
    let mut active_len = active.metadata().map_err(|e| io_err(last_path, e))?.len();
    if let Some(at) = truncate_at {
        active
            .set_len(at)
            .and_then(|()| active.sync_all())
            .map_err(|e| io_err(last_path, e))?;
        active_len = at;
    }
    Ok(Recovered {
        index,
        segments,
        active,
        active_len,
    })
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

fn next_frame(reader: &mut impl Read) -> std::io::Result<Scan> {
    let mut buf = vec![0u8; FRAME_HEADER_LEN];
    let got = read_full(reader, &mut buf)?;
    if got == 0 {
        return Ok(Scan::End);
    }
    if got < FRAME_HEADER_LEN {
        return Ok(Scan::Bad(FrameError::Short));
    }
    let body_len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if body_len as usize > MAX_BODY_LEN {
        return Ok(Scan::Bad(FrameError::BadLength(body_len)));
    }
    buf.resize(FRAME_HEADER_LEN + body_len as usize, 0);
    let got = read_full(reader, &mut buf[FRAME_HEADER_LEN..])?;
    if got < body_len as usize {
        return Ok(Scan::Bad(FrameError::Short));
    }
    Ok(match frame::decode(&buf) {
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
