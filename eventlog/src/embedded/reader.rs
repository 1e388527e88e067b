//! Reads of durable events: from the index's cache when it holds them,
//! otherwise from the segment files (positional reads, checksum checked on
//! every frame; a bad frame is [`ReadError::Corrupt`], never served).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use tokio::sync::watch;

use crate::error::ReadError;
use crate::types::{Position, RecordedEvent};

use super::frame::{self, Layout};
use super::index::{FrameLoc, Index};

/// Most bytes one positional read fetches.
const MAX_SPAN: u64 = 4 << 20;
/// Most events a page reserves room for up front.
const PAGE_RESERVE: u64 = 1 << 16;

/// What the writer and the readers share.
#[derive(Debug)]
pub struct Shared {
    pub index: RwLock<Index>,
    /// Segment files opened for reading, by segment number, and the layout
    /// of their frames.
    pub segments: RwLock<Vec<(Arc<File>, Layout)>>,
    /// The last durable position.
    pub head: watch::Sender<Option<Position>>,
    /// A buffer for positional reads, kept between them: a catch-up reader
    /// reads megabytes per page, and allocating (and zeroing) them afresh each
    /// time showed in replay profiles.
    pub read_buf: Mutex<Vec<u8>>,
}

impl Shared {
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        // The index is changed only in complete steps; a panicking reader
        // cannot leave it half-updated.
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn segment(&self, n: u32) -> Result<(Arc<File>, Layout), ReadError> {
        let segments = self.segments.read().unwrap_or_else(|p| p.into_inner());
        segments
            .get(n as usize)
            .cloned()
            .ok_or_else(|| ReadError::Corrupt(format!("segment {n} is not open")))
    }

    /// Up to `max` events from position `from`, in order.
    pub fn read_from(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, ReadError> {
        // Sized once for the whole page (growing it would move every event
        // again), but never beyond what a page of a long log can hold.
        let expected = {
            let idx = self.index();
            idx.next_position().saturating_sub(from).min(PAGE_RESERVE)
        };
        let mut out: Vec<RecordedEvent> = Vec::with_capacity((expected as usize).min(max));
        let mut pos = from;
        while out.len() < max {
            let frames = {
                let idx = self.index();
                if pos >= idx.next_position() {
                    break;
                }
                if pos >= idx.cache_start() {
                    out.extend(idx.cached_iter(pos, max - out.len()).cloned());
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
            let before = out.len();
            self.read_frames_into(&frames, pos, max, &mut out)?;
            match out.last() {
                Some(last) if out.len() > before => pos = last.position.0 + 1,
                _ => {
                    return Err(ReadError::Corrupt(format!(
                        "no stored frame holds position {pos}"
                    )));
                }
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
                let mut events = Vec::new();
                self.read_frames_into(&[loc], 0, usize::MAX, &mut events)?;
                v.insert(events);
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

    /// Reads and decodes `frames`, coalescing neighbours into one read, and
    /// appends their events from position `from` on to `out` while it holds
    /// fewer than `max` (see [`frame::decode_into`]).
    fn read_frames_into(
        &self,
        frames: &[FrameLoc],
        from: u64,
        max: usize,
        out: &mut Vec<RecordedEvent>,
    ) -> Result<(), ReadError> {
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
            let (file, layout) = self.segment(first.segment)?;
            let len = (span_end - first.offset) as usize;
            let mut buf = self.take_buf(len);
            let span = &mut buf[..len];
            let decoded = file
                .read_exact_at(span, first.offset)
                .map_err(|e| ReadError::Unavailable(format!("segment {}: {e}", first.segment)))
                .and_then(|()| decode_span(span, layout, &frames[i..end], from, max, out));
            self.give_back(buf);
            decoded?;
            i = end;
        }
        Ok(())
    }

    /// The kept read buffer (or a new one), at least `len` bytes long. Its
    /// contents are stale: the caller overwrites what it reads.
    fn take_buf(&self, len: usize) -> Vec<u8> {
        let mut buf = std::mem::take(&mut *self.read_buf.lock().unwrap_or_else(|p| p.into_inner()));
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// Keeps `buf` for the next read unless another buffer is kept already or
    /// it is unusually large.
    fn give_back(&self, buf: Vec<u8>) {
        if buf.capacity() > 2 * MAX_SPAN as usize {
            return;
        }
        let mut kept = self.read_buf.lock().unwrap_or_else(|p| p.into_inner());
        if kept.capacity() == 0 {
            *kept = buf;
        }
    }
}

/// Decodes the adjacent frames `frames` from `buf` into `out` (see
/// [`frame::decode_into`]), checking each against the index.
fn decode_span(
    buf: &[u8],
    layout: Layout,
    frames: &[FrameLoc],
    from: u64,
    max: usize,
    out: &mut Vec<RecordedEvent>,
) -> Result<(), ReadError> {
    let mut at = 0usize;
    for loc in frames {
        let where_ = || format!("segment {} byte {}", loc.segment, loc.offset);
        let info = frame::decode_into(&buf[at..], layout, from, max, out)
            .map_err(|e| ReadError::Corrupt(format!("{e} at {}", where_())))?;
        if info.len != loc.len as usize
            || info.first_position != loc.first_position
            || info.count != loc.count
        {
            return Err(ReadError::Corrupt(format!(
                "frame at {} does not match the index",
                where_()
            )));
        }
        at += info.len;
    }
    Ok(())
}
