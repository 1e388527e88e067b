//! Reads of durable events: from the index's cache when it holds them,
//! otherwise from the segment files (positional reads, checksum checked on
//! every frame; a bad frame is [`ReadError::Corrupt`], never served).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use tokio::sync::watch;

use crate::error::ReadError;
use crate::types::{Position, RecordedEvent};

use super::frame;
use super::index::{FrameLoc, Index};

/// Most bytes one positional read fetches.
const MAX_SPAN: u64 = 4 << 20;

/// What the writer and the readers share.
#[derive(Debug)]
pub struct Shared {
    pub index: RwLock<Index>,
    /// Segment files opened for reading, by segment number.
    pub segments: RwLock<Vec<Arc<File>>>,
    /// The last durable position.
    pub head: watch::Sender<Option<Position>>,
}

impl Shared {
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        // The index is changed only in complete steps; a panicking reader
        // cannot leave it half-updated.
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn segment(&self, n: u32) -> Result<Arc<File>, ReadError> {
        let segments = self.segments.read().unwrap_or_else(|p| p.into_inner());
        segments
            .get(n as usize)
            .cloned()
            .ok_or_else(|| ReadError::Corrupt(format!("segment {n} is not open")))
    }

    /// Up to `max` events from position `from`, in order.
    pub fn read_from(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, ReadError> {
        let mut out: Vec<RecordedEvent> = Vec::new();
        let mut pos = from;
        while out.len() < max {
            let frames = {
                let idx = self.index();
                if pos >= idx.next_position() {
                    break;
                }
                if pos >= idx.cache_start() {
                    out.extend(idx.cached_range(pos, max - out.len()));
                    break;
                }
                let Some((i, _)) = idx.frame_of(pos) else {
                    return Err(ReadError::Corrupt(format!("no frame holds position {pos}")));
                };
                let want = (max - out.len()) as u64;
                let mut frames = Vec::new();
                let mut bytes = 0u64;
                for f in idx.frames_from(i, 4096) {
                    let covered = (f.first_position + u64::from(f.count)).saturating_sub(pos);
                    frames.push(f);
                    bytes += u64::from(f.len);
                    if covered >= want || bytes >= MAX_SPAN {
                        break;
                    }
                }
                frames
            };
            let before = pos;
            for events in self.read_frames(&frames)? {
                for e in events {
                    if e.position.0 >= pos && out.len() < max {
                        pos = e.position.0 + 1;
                        out.push(e);
                    }
                }
            }
            if pos == before {
                return Err(ReadError::Corrupt(format!(
                    "no stored frame holds position {pos}"
                )));
            }
        }
        Ok(out)
    }

    /// The events at `positions` (all durable), in the order asked.
    pub fn events_at(&self, positions: &[u64]) -> Result<Vec<RecordedEvent>, ReadError> {
        let mut out: Vec<Option<RecordedEvent>> = Vec::with_capacity(positions.len());
        let mut misses: Vec<(usize, u64)> = Vec::new();
        {
            let idx = self.index();
            for (i, &p) in positions.iter().enumerate() {
                let hit = idx.cached(p).cloned();
                if hit.is_none() {
                    misses.push((i, p));
                }
                out.push(hit);
            }
        }
        let mut decoded: HashMap<usize, Vec<RecordedEvent>> = HashMap::new();
        for (i, p) in misses {
            let (frame_no, loc) = self
                .index()
                .frame_of(p)
                .ok_or_else(|| ReadError::Corrupt(format!("no frame holds position {p}")))?;
            if let std::collections::hash_map::Entry::Vacant(v) = decoded.entry(frame_no) {
                let mut events = self.read_frames(&[loc])?;
                v.insert(events.pop().unwrap_or_default());
            }
            let events = &decoded[&frame_no];
            let e = events
                .get((p - loc.first_position) as usize)
                .cloned()
                .ok_or_else(|| ReadError::Corrupt(format!("frame lacks position {p}")))?;
            out[i] = Some(e);
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Reads and decodes `frames`, coalescing neighbours into one read.
    fn read_frames(&self, frames: &[FrameLoc]) -> Result<Vec<Vec<RecordedEvent>>, ReadError> {
        let mut out = Vec::with_capacity(frames.len());
        let mut i = 0;
        while i < frames.len() {
            let first = frames[i];
            let mut end = i + 1;
            let mut span_end = first.offset + u64::from(first.len);
            while end < frames.len()
                && frames[end].segment == first.segment
                && frames[end].offset == span_end
            {
                span_end += u64::from(frames[end].len);
                end += 1;
            }
            let file = self.segment(first.segment)?;
            let mut buf = vec![0u8; (span_end - first.offset) as usize];
            file.read_exact_at(&mut buf, first.offset)
                .map_err(|e| ReadError::Unavailable(format!("segment {}: {e}", first.segment)))?;
            let mut at = 0usize;
            for loc in &frames[i..end] {
                let where_ = || format!("segment {} byte {}", loc.segment, loc.offset);
                let (events, len) = frame::decode(&buf[at..])
                    .map_err(|e| ReadError::Corrupt(format!("{e} at {}", where_())))?;
                if len != loc.len as usize
                    || events.first().map(|e| e.position.0) != Some(loc.first_position)
                    || events.len() != loc.count as usize
                {
                    return Err(ReadError::Corrupt(format!(
                        "frame at {} does not match the index",
                        where_()
                    )));
                }
                at += len;
                out.push(events);
            }
            i = end;
        }
        Ok(out)
    }
}
