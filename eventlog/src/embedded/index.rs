//! The in-memory index of durable events, rebuilt by scanning on open.
//!
//! - where each frame lies (position → segment, offset), sorted by position;
//! - each stream's positions by revision;
//! - each event id's position (durable idempotency);
//! - a bounded cache of the most recent events, so live readers never touch disk.
//!
//! Only the writer changes it, and only with events that are already durable,
//! so every reader sees positions up to the durable watermark and no further.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use crate::idhash::IdState;
use crate::types::{RecordedEvent, StreamName};

/// Where one frame lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLoc {
    pub first_position: u64,
    pub count: u32,
    /// Index into the segment list.
    pub segment: u32,
    /// Offset of the frame header in the segment file.
    pub offset: u64,
    /// Header + body.
    pub len: u32,
}

pub struct Index {
    frames: Vec<FrameLoc>,
    streams: HashMap<StreamName, Vec<u64>>,
    ids: HashMap<Uuid, u64, IdState>,
    /// One past the last durable position.
    next_position: u64,
    cache: VecDeque<RecordedEvent>,
    cache_bytes: usize,
    cache_limit: usize,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("frames", &self.frames.len())
            .field("streams", &self.streams.len())
            .field("next_position", &self.next_position)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// Approximate memory an event holds in the cache.
fn cached_size(e: &RecordedEvent) -> usize {
    160 + e.payload.len()
        + e.event_type.len()
        + e.stream.as_str().len()
        + e.metadata.actor.as_ref().map_or(0, String::len)
}

impl Index {
    pub fn new(cache_limit: usize) -> Self {
        Self {
            frames: Vec::new(),
            streams: HashMap::new(),
            ids: HashMap::default(),
            next_position: 0,
            cache: VecDeque::new(),
            cache_bytes: 0,
            cache_limit,
        }
    }

    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// Adds one durable frame and its events (numbered from `next_position`).
    /// The caller has checked that positions and revisions follow on.
    pub fn push(&mut self, loc: FrameLoc, events: Vec<RecordedEvent>) {
        self.frames.push(loc);
        for e in events {
            match self.streams.get_mut(&e.stream) {
                Some(positions) => positions.push(e.position.0),
                None => {
                    self.streams.insert(e.stream.clone(), vec![e.position.0]);
                }
            }
            self.ids.insert(e.event_id, e.position.0);
            self.next_position = e.position.0 + 1;
            self.cache_bytes += cached_size(&e);
            self.cache.push_back(e);
        }
        while self.cache_bytes > self.cache_limit {
            match self.cache.pop_front() {
                Some(old) => self.cache_bytes -= cached_size(&old),
                None => break,
            }
        }
    }

    /// The last revision of `stream`.
    pub fn stream_revision(&self, stream: &StreamName) -> Option<u64> {
        self.streams
            .get(stream)
            .and_then(|r| r.len().checked_sub(1))
            .map(|r| r as u64)
    }

    /// Positions of `stream` from `from_revision`, at most `max`.
    pub fn stream_positions(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Vec<u64> {
        let Some(positions) = self.streams.get(stream) else {
            return Vec::new();
        };
        let from = usize::try_from(from_revision)
            .unwrap_or(usize::MAX)
            .min(positions.len());
        positions[from..].iter().take(max).copied().collect()
    }

    pub fn position_of(&self, id: &Uuid) -> Option<u64> {
        self.ids.get(id).copied()
    }

    /// The cached event at `position`, if the cache still holds it.
    pub fn cached(&self, position: u64) -> Option<&RecordedEvent> {
        let first = self.cache.front()?.position.0;
        let i = usize::try_from(position.checked_sub(first)?).ok()?;
        self.cache.get(i)
    }

    /// The first cached position (`next_position` when the cache is empty).
    pub fn cache_start(&self) -> u64 {
        self.cache
            .front()
            .map_or(self.next_position, |e| e.position.0)
    }

    /// Clones up to `max` cached events from `from`.
    pub fn cached_range(&self, from: u64, max: usize) -> Vec<RecordedEvent> {
        self.cached_iter(from, max).cloned().collect()
    }

    /// Up to `max` cached events from `from` (none when `from` is not cached).
    pub fn cached_iter(&self, from: u64, max: usize) -> impl Iterator<Item = &RecordedEvent> {
        let start = self.cache_start();
        let skip = from
            .checked_sub(start)
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(usize::MAX)
            .min(self.cache.len());
        let end = skip.saturating_add(max).min(self.cache.len());
        self.cache.range(skip..end)
    }

    /// The frame holding `position`, with its index in the frame list.
    pub fn frame_of(&self, position: u64) -> Option<(usize, FrameLoc)> {
        if position >= self.next_position {
            return None;
        }
        let i = self
            .frames
            .partition_point(|f| f.first_position <= position)
            .checked_sub(1)?;
        Some((i, self.frames[i]))
    }

    /// Frames from index `i` onwards, at most `n`.
    pub fn frames_from(&self, i: usize, n: usize) -> Vec<FrameLoc> {
        self.frames.iter().skip(i).take(n).copied().collect()
    }
}
