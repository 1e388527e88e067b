//! The writer: one thread owns the active segment and commits appends in
//! groups; a second thread syncs them.
//!
//! Each turn the writer takes every queued request (up to [`DRAIN_BYTES`]),
//! decides each against the index plus everything written but not yet
//! published (earlier requests of this group and the group being synced),
//! encodes one frame per accepted append, writes them with one write, and
//! hands the group to the syncer. The syncer runs one `fdatasync` per group
//! and only then publishes it to the index and the head watch and answers
//! the callers, in order. So the writer prepares group n + 1 while group n is
//! being synced, and at most two groups are ever unsynced (the torn-tail
//! window of [`recovery`](super::recovery) allows for that). If a write or
//! sync fails, nothing of that group or any later one is published, every
//! caller gets `Unavailable`, and the store refuses all further appends (the
//! file state is unknown; reopening recovers).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::error::AppendError;
use crate::idhash::IdState;
use crate::rules::{self, Plan};
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

use super::frame::{self, Layout};
use super::index::FrameLoc;
use super::reader::Shared;
use super::recovery::{Active, TORN_WINDOW};
use super::segment;

/// Bytes after which a drain stops taking requests. With the largest single
/// append, two groups (the one being synced and the next) stay below
/// [`TORN_WINDOW`].
pub const DRAIN_BYTES: usize = 8 << 20;
const _: () = assert!(2 * ((DRAIN_BYTES as u64) + (5 << 20)) < TORN_WINDOW);

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

/// Why the store refuses appends, once a write or sync failed.
type Failure = Arc<Mutex<Option<String>>>;

fn failure(f: &Failure) -> Option<String> {
    f.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn fail(f: &Failure, why: String) {
    f.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert(why);
}

#[derive(Debug)]
pub struct Writer {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    dir: PathBuf,
    active: Arc<File>,
    active_len: u64,
    /// How the active segment's frames are laid out.
    layout: Layout,
    segment_bytes: u64,
    /// Held while the writer runs: the directory's lock.
    _lock: File,
    buf: Vec<u8>,
    failed: Failure,
    to_syncer: Option<mpsc::SyncSender<Group>>,
    syncer: Option<std::thread::JoinHandle<()>>,
    /// The position the next written event gets.
    next_position: u64,
    /// Written but maybe not yet published: each stream's last revision and
    /// its position, and each event id's position.
    inflight_revs: HashMap<StreamName, (u64, u64)>,
    inflight_ids: HashMap<Uuid, u64, IdState>,
}

/// A written group on its way to the syncer.
struct Group {
    file: Arc<File>,
    wrote: bool,
    staged: Vec<Staged>,
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
        active: Active,
        segment_bytes: u64,
        lock: File,
    ) -> std::io::Result<Self> {
        let failed: Failure = Arc::default();
        // A rendezvous: the writer waits for the syncer to take its group, so
        // at most one group is being synced and one more written.
        let (to_syncer, groups) = mpsc::sync_channel::<Group>(0);
        let syncer = {
            let (shared, failed) = (shared.clone(), failed.clone());
            std::thread::Builder::new()
                .name("caucus-log-sync".into())
                .spawn(move || sync_loop(&shared, &failed, groups))?
        };
        let next_position = shared.index().next_position();
        Ok(Self {
            shared,
            rx,
            dir,
            active: Arc::new(active.file),
            active_len: active.len,
            layout: active.layout,
            segment_bytes,
            _lock: lock,
            buf: Vec::new(),
            failed,
            to_syncer: Some(to_syncer),
            syncer: Some(syncer),
            next_position,
            inflight_revs: HashMap::new(),
            inflight_ids: HashMap::default(),
        })
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
                self.stop_syncer();
                return close;
            }
        }
        self.stop_syncer();
        None
    }

    /// Lets the syncer finish the groups it has, and waits for it.
    fn stop_syncer(&mut self) {
        self.to_syncer = None;
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }

    /// Waits until the syncer has published every position below `end`.
    fn wait_published(&self, end: u64) -> Result<(), String> {
        loop {
            if self.shared.index().next_position() >= end {
                return Ok(());
            }
            if let Some(why) = failure(&self.failed) {
                return Err(why);
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    fn commit(&mut self, group: &mut Vec<Request>) {
        if let Some(why) = failure(&self.failed) {
            for req in group.drain(..) {
                if let Request::Append { reply, .. } = req {
                    let _ = reply.send(Err(AppendError::Unavailable(why.clone())));
                }
            }
            return;
        }
        // Forget what the syncer has published since the last group.
        let published = self.shared.index().next_position();
        self.inflight_revs.retain(|_, &mut (_, p)| p >= published);
        self.inflight_ids.retain(|_, p| *p >= published);
        // A group with nothing to append (the one a close commits) does not
        // start a segment it would leave empty.
        if self.active_len >= self.segment_bytes && !group.is_empty() {
            // The sealed segment must be fully synced before the next one
            // exists: only the last segment may have a torn tail.
            let rolled = self
                .wait_published(self.next_position)
                .and_then(|()| self.roll());
            if let Err(e) = rolled {
                fail(&self.failed, format!("cannot start a new segment: {e}"));
                return self.commit(group);
            }
        }
        let staged = self.stage(group);
        let wrote = !self.buf.is_empty();
        if wrote {
            if let Err(e) = self.active.write_all_at(&self.buf, self.active_len) {
                let why = format!("write of the log failed: {e}");
                tracing::error!("{why}; refusing further appends until reopened");
                fail(&self.failed, why.clone());
                for s in staged {
                    let _ = s.reply.send(Err(AppendError::Unavailable(why.clone())));
                }
                return;
            }
            self.active_len += self.buf.len() as u64;
        }
        // Even a group that wrote nothing goes through the syncer, so its
        // answers (which may name events still being synced) come in order.
        let group = Group {
            file: self.active.clone(),
            wrote,
            staged,
        };
        let sent = self.to_syncer.as_ref().map(|s| s.send(group));
        if let Some(Err(mpsc::SendError(group))) = sent {
            let why = "the log's sync thread stopped".to_owned();
            fail(&self.failed, why.clone());
            for s in group.staged {
                let _ = s.reply.send(Err(AppendError::Unavailable(why.clone())));
            }
        }
    }

    /// Decides every request of the group and encodes the accepted ones into
    /// `buf`.
    fn stage(&mut self, group: &mut Vec<Request>) -> Vec<Staged> {
        self.buf.clear();
        let mut staged: Vec<Staged> = Vec::with_capacity(group.len());
        let mut pending_ids: HashMap<Uuid, (usize, usize), IdState> = HashMap::default();
        let mut next_position = self.next_position;
        let recorded_at_us = now_us();
        let segment_no = self.segment_no();
        // The durable watermark every frame of the group records: the index
        // holds only synced events (the syncer publishes after fdatasync).
        let watermark = self.shared.index().next_position();
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
                    self.inflight_ids.contains_key(&e.event_id)
                        || idx.position_of(&e.event_id).is_some()
                };
                if events.iter().any(known) {
                    for e in &events {
                        if let Some(&(s, i)) = pending_ids.get(&e.event_id) {
                            let held = staged[s].written.as_ref().map(|(_, ev)| ev[i].clone());
                            stored.push(held);
                        } else if let Some(p) = idx
                            .position_of(&e.event_id)
                            .or_else(|| self.inflight_ids.get(&e.event_id).copied())
                        {
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
                // An id of the group being synced: wait until it is published
                // (rare: a retry racing its own first attempt).
                let newest = positions.iter().max().map_or(0, |p| p + 1);
                let found = match self
                    .wait_published(newest)
                    .map_err(|why| why.to_string())
                    .and_then(|()| self.shared.events_at(&positions).map_err(|e| e.to_string()))
                {
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
            let current = match self.inflight_revs.get(&stream) {
                Some(&(r, _)) => Some(r),
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
            frame::encode(&mut self.buf, self.layout, watermark, &recorded);
            let loc = FrameLoc {
                first_position: next_position,
                count: n as u32,
                segment: segment_no,
                offset,
                len: (self.buf.len() - start) as u32,
            };
            for (i, e) in recorded.iter().enumerate() {
                pending_ids.insert(e.event_id, (staged.len(), i));
                self.inflight_ids.insert(e.event_id, e.position.0);
            }
            let last_position = next_position + n - 1;
            self.inflight_revs
                .insert(stream, (first_revision + n - 1, last_position));
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
        self.next_position = next_position;
        staged
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
        let base = self.next_position;
        let (path, file, layout) = segment::create(&self.dir, base).map_err(|e| e.to_string())?;
        let reader = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.shared
            .segments
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push((Arc::new(reader), layout));
        self.active = Arc::new(file);
        self.layout = layout;
        self.active_len = segment::HEADER_LEN as u64;
        tracing::debug!(base, "started a new segment");
        Ok(())
    }
}

/// The syncer: one `fdatasync` per group, then publish and answer, in order.
fn sync_loop(shared: &Shared, failed: &Failure, groups: mpsc::Receiver<Group>) {
    while let Ok(mut group) = groups.recv() {
        let synced = match failure(failed) {
            Some(why) => Err(why),
            None if group.wrote => group.file.sync_data().map_err(|e| {
                let why = format!("sync of the log failed: {e}");
                tracing::error!("{why}; refusing further appends until reopened");
                fail(failed, why.clone());
                why
            }),
            None => Ok(()),
        };
        match synced {
            Ok(()) => publish(shared, &mut group.staged),
            Err(why) => {
                for s in &mut group.staged {
                    s.result = Err(AppendError::Unavailable(why.clone()));
                }
            }
        }
        for s in group.staged {
            let _ = s.reply.send(s.result);
        }
    }
}

fn publish(shared: &Shared, staged: &mut [Staged]) {
    let mut last = None;
    {
        let mut idx = shared.index.write().unwrap_or_else(|p| p.into_inner());
        for s in staged.iter_mut() {
            if let Some((loc, events)) = s.written.take() {
                last = Some(loc.first_position + u64::from(loc.count) - 1);
                idx.push(loc, events);
            }
        }
    }
    if let Some(last) = last {
        shared.head.send_replace(Some(Position(last)));
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
