//! The writer: one thread owns the active segment and commits appends in
//! groups.
//!
//! Each turn it takes every queued request (up to [`DRAIN_BYTES`]), decides
//! each against the index plus the requests before it in the same group,
//! encodes one frame per accepted append, writes them with one write, runs
//! one `fdatasync`, and only then publishes the group to the index and the
//! head watch and answers the callers. If a write or sync fails, nothing of
//! the group is published, every caller gets `Unavailable`, and the writer
//! refuses all further appends (the file state is unknown; reopening
//! recovers).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::error::AppendError;
use crate::idhash::IdState;
use crate::rules::{self, Plan};
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

use super::frame;
use super::index::FrameLoc;
use super::reader::Shared;
use super::recovery::TORN_WINDOW;
use super::segment;

/// Bytes after which a drain stops taking requests. With the largest single
/// append, a drain stays below [`TORN_WINDOW`].
pub const DRAIN_BYTES: usize = 8 << 20;
const _: () = assert!((DRAIN_BYTES as u64) + (5 << 20) < TORN_WINDOW);

pub type Reply = oneshot::Sender<Result<AppendOutcome, AppendError>>;

#[derive(Debug)]
pub enum Request {
    Append {
        stream: StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
        /// Approximate encoded size.
        size: usize,
        reply: Reply,
    },
    /// Commit what is queued, then stop.
    Close { done: oneshot::Sender<()> },
}

#[derive(Debug)]
pub struct Writer {
    pub shared: Arc<Shared>,
    pub rx: mpsc::Receiver<Request>,
    pub dir: PathBuf,
    pub active: File,
    pub active_len: u64,
    pub segment_bytes: u64,
    /// Held while the writer runs: the directory's lock.
    pub _lock: File,
    buf: Vec<u8>,
    failed: Option<String>,
}

/// One request of a group, decided but not yet answered.
struct Staged {
    reply: Reply,
    result: Result<AppendOutcome, AppendError>,
    /// The frame and events to publish once durable.
    written: Option<(FrameLoc, Vec<RecordedEvent>)>,
}

impl Writer {
    pub fn new(
        shared: Arc<Shared>,
        rx: mpsc::Receiver<Request>,
        dir: PathBuf,
        active: File,
        active_len: u64,
        segment_bytes: u64,
        lock: File,
    ) -> Self {
        Self {
            shared,
            rx,
            dir,
            active,
            active_len,
            segment_bytes,
            _lock: lock,
            buf: Vec::new(),
            failed: None,
        }
    }

    /// Runs until closed or every sender is gone; returns who asked to close.
    pub fn run(mut self) -> Option<oneshot::Sender<()>> {
        let mut group = Vec::new();
        while let Ok(first) = self.rx.recv() {
            let mut close = None;
            let mut bytes = 0usize;
            let mut next = Some(first);
            while let Some(req) = next.take() {
                match req {
                    Request::Append { size, .. } => {
                        bytes += size;
                        group.push(req);
                    }
                    Request::Close { done } => close = Some(done),
                }
                if bytes < DRAIN_BYTES {
                    next = self.rx.try_recv().ok();
                }
            }
            self.commit(&mut group);
            if close.is_some() {
                // Answer what raced with the close; nothing more gets in.
                while let Ok(req) = self.rx.try_recv() {
                    if let Request::Append { reply, .. } = req {
                        let _ = reply.send(Err(AppendError::Closed));
                    }
                }
                return close;
            }
        }
        None
    }

    fn commit(&mut self, group: &mut Vec<Request>) {
        if let Some(why) = &self.failed {
            for req in group.drain(..) {
                if let Request::Append { reply, .. } = req {
                    let _ = reply.send(Err(AppendError::Unavailable(why.clone())));
                }
            }
            return;
        }
        if self.active_len >= self.segment_bytes
            && let Err(e) = self.roll()
        {
            self.failed = Some(format!("cannot start a new segment: {e}"));
            return self.commit(group);
        }
        let mut staged = self.stage(group);
        if !self.buf.is_empty() {
            let result = self
                .active
                .write_all_at(&self.buf, self.active_len)
                .and_then(|()| self.active.sync_data());
            if let Err(e) = result {
                let why = format!("write or sync of the log failed: {e}");
                tracing::error!("{why}; refusing further appends until reopened");
                for s in &mut staged {
                    s.result = Err(AppendError::Unavailable(why.clone()));
                }
                self.failed = Some(why);
            } else {
                self.active_len += self.buf.len() as u64;
                self.publish(&mut staged);
            }
        }
        for s in staged {
            let _ = s.reply.send(s.result);
        }
    }

    /// Decides every request of the group and encodes the accepted ones into
    /// `buf`.
    fn stage(&mut self, group: &mut Vec<Request>) -> Vec<Staged> {
        self.buf.clear();
        let mut staged: Vec<Staged> = Vec::with_capacity(group.len());
        let mut pending_revs: HashMap<StreamName, u64> = HashMap::new();
        let mut pending_ids: HashMap<Uuid, (usize, usize), IdState> = HashMap::default();
        let mut next_position = self.shared.index().next_position();
        let recorded_at_us = now_us();
        let segment_no = self.segment_no();
        for req in group.drain(..) {
            let Request::Append {
                stream,
                expected,
                events,
                reply,
                ..
            } = req
            else {
                continue;
            };
            // What the store holds under each id: this group first, then the
            // index. Left empty in the common case where no id is known.
            let mut stored = Vec::new();
            let mut durable = Vec::new();
            {
                let idx = self.shared.index();
                let known = |e: &NewEvent| {
                    pending_ids.contains_key(&e.event_id) || idx.position_of(&e.event_id).is_some()
                };
                if events.iter().any(known) {
                    for e in &events {
                        if let Some(&(s, i)) = pending_ids.get(&e.event_id) {
                            let held = staged[s].written.as_ref().map(|(_, ev)| ev[i].clone());
                            stored.push(held);
                        } else if let Some(p) = idx.position_of(&e.event_id) {
                            durable.push((stored.len(), p));
                            stored.push(None);
                        } else {
                            stored.push(None);
                        }
                    }
                }
            }
            if !durable.is_empty() {
                let positions: Vec<u64> = durable.iter().map(|&(_, p)| p).collect();
                let found = match self.shared.events_at(&positions) {
                    Ok(found) => found,
                    Err(e) => {
                        let why = format!("cannot read a stored event to compare: {e}");
                        let result = Err(AppendError::Unavailable(why));
                        staged.push(Staged {
                            reply,
                            result,
                            written: None,
                        });
                        continue;
                    }
                };
                for ((slot, _), e) in durable.into_iter().zip(found) {
                    stored[slot] = Some(e);
                }
            }
            let current = match pending_revs.get(&stream) {
                Some(&r) => Some(r),
                None => self.shared.index().stream_revision(&stream),
            };
            let plan = rules::plan_append(&stream, expected, current, &events, &stored);
            let first_revision = match plan {
                Err(e) => {
                    staged.push(Staged {
                        reply,
                        result: Err(e),
                        written: None,
                    });
                    continue;
                }
                Ok(Plan::AlreadyAppended(outcome)) => {
                    staged.push(Staged {
                        reply,
                        result: Ok(outcome),
                        written: None,
                    });
                    continue;
                }
                Ok(Plan::Append { first_revision }) => first_revision,
            };
            let n = events.len() as u64;
            let recorded: Vec<RecordedEvent> = events
                .into_iter()
                .enumerate()
                .map(|(i, e)| RecordedEvent {
                    event_id: e.event_id,
                    stream: stream.clone(),
                    revision: first_revision + i as u64,
                    position: Position(next_position + i as u64),
                    event_type: e.event_type,
                    schema_version: e.schema_version,
                    codec: e.codec,
                    payload: e.payload,
                    metadata: e.metadata,
                    recorded_at_us,
                })
                .collect();
            let offset = self.active_len + self.buf.len() as u64;
            let start = self.buf.len();
            frame::encode(&mut self.buf, &recorded);
            let loc = FrameLoc {
                first_position: next_position,
                count: n as u32,
                segment: segment_no,
                offset,
                len: (self.buf.len() - start) as u32,
            };
            for (i, e) in recorded.iter().enumerate() {
                pending_ids.insert(e.event_id, (staged.len(), i));
            }
            pending_revs.insert(stream, first_revision + n - 1);
            let outcome = AppendOutcome {
                first_revision,
                last_revision: first_revision + n - 1,
                first_position: Position(next_position),
                last_position: Position(next_position + n - 1),
                already_appended: false,
            };
            next_position += n;
            staged.push(Staged {
                reply,
                result: Ok(outcome),
                written: Some((loc, recorded)),
            });
        }
        staged
    }

    fn publish(&self, staged: &mut [Staged]) {
        let mut last = None;
        {
            let mut idx = self.shared.index.write().unwrap_or_else(|p| p.into_inner());
            for s in staged.iter_mut() {
                if let Some((loc, events)) = s.written.take() {
                    last = Some(loc.first_position + u64::from(loc.count) - 1);
                    idx.push(loc, events);
                }
            }
        }
        if let Some(last) = last {
            self.shared.head.send_replace(Some(Position(last)));
        }
    }

    fn segment_no(&self) -> u32 {
        let segments = self
            .shared
            .segments
            .read()
            .unwrap_or_else(|p| p.into_inner());
        segments.len().saturating_sub(1) as u32
    }

    /// Seals the active segment (already synced) and starts the next one.
    fn roll(&mut self) -> Result<(), String> {
        let base = self.shared.index().next_position();
        let (path, file) = segment::create(&self.dir, base).map_err(|e| e.to_string())?;
        let reader = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.shared
            .segments
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(reader));
        self.active = file;
        self.active_len = segment::HEADER_LEN as u64;
        tracing::debug!(base, "started a new segment");
        Ok(())
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
