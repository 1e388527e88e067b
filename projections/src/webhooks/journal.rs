//! An endpoint's delivery log (every attempt) and dead-letter list, in
//! `<dir>/<endpoint id>/`: `attempts.jsonl` (appended, flushed by the worker
//! every tick, compacted to the last [`KEEP_ATTEMPTS`]), `dead-letters.json`
//! (mode 0600, rewritten atomically on every change) and `retries.json` (the
//! retry clock of deliveries that are failing, rewritten atomically at the
//! tick after a change, so a restart resumes their backoff).

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::endpoint::write_private;

/// Attempts kept (in memory and, after compaction, on disk).
pub const KEEP_ATTEMPTS: usize = 10_000;
/// Most dead letters kept per endpoint; past it the oldest are dropped (logged).
pub const MAX_DEAD_LETTERS: usize = 100_000;

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// When the attempt started, µs since the epoch.
    pub at_us: i64,
    pub envelope_id: Uuid,
    pub webhook_type: String,
    pub room: String,
    pub position: u64,
    /// 1 for the first attempt of this delivery.
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: f64,
    pub success: bool,
    /// Sent by a redelivery request, not by the live consumer.
    pub redelivery: bool,
}

/// An event that exhausted its retries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub position: u64,
    pub envelope_id: Uuid,
    pub webhook_type: String,
    pub room: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub dead_at_us: i64,
}

/// Where a failing delivery stands in its retry schedule (wall-clock times,
/// so it means the same after a restart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryState {
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the first attempt started, µs since the epoch.
    pub first_at_us: i64,
    /// When the next attempt is due, µs since the epoch.
    pub next_at_us: i64,
}

/// The delivery log and dead letters of one endpoint.
#[derive(Debug)]
pub struct Journal {
    dir: Option<PathBuf>,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    attempts: VecDeque<AttemptRecord>,
    file: Option<BufWriter<File>>,
    lines: usize,
    dead: BTreeMap<(u64, String), DeadLetter>,
    retries: BTreeMap<(u64, String), RetryState>,
    /// `retries` changed since it was last written.
    retries_dirty: bool,
}

/// `retries.json`: a list, since JSON keys must be strings.
#[derive(Serialize, Deserialize)]
struct RetryEntry {
    position: u64,
    webhook_type: String,
    #[serde(flatten)]
    state: RetryState,
}

impl Journal {
    /// Loads (or starts) the journal in `dir`; `None` keeps it in memory.
    pub fn open(dir: Option<PathBuf>) -> std::io::Result<Self> {
        let mut inner = Inner::default();
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)?;
            let attempts = dir.join("attempts.jsonl");
            if let Ok(f) = File::open(&attempts) {
                for line in BufReader::new(f).lines() {
                    // A torn last line (crash mid-write) is skipped.
                    if let Ok(r) = serde_json::from_str::<AttemptRecord>(&line?) {
                        inner.attempts.push_back(r);
                        inner.lines += 1;
                        if inner.attempts.len() > KEEP_ATTEMPTS {
                            inner.attempts.pop_front();
                        }
                    }
                }
            }
            if let Ok(bytes) = std::fs::read(dir.join("dead-letters.json")) {
                let list: Vec<DeadLetter> = serde_json::from_slice(&bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                })?;
                for d in list {
                    inner.dead.insert((d.position, d.webhook_type.clone()), d);
                }
            }
            if let Ok(bytes) = std::fs::read(dir.join("retries.json")) {
                // Written atomically, so never torn; unreadable means a bug or
                // tampering: start those clocks over rather than refuse to start.
                match serde_json::from_slice::<Vec<RetryEntry>>(&bytes) {
                    Ok(list) => {
                        for e in list {
                            inner.retries.insert((e.position, e.webhook_type), e.state);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "webhook retry clocks unreadable; reset"),
                }
            }
            inner.file = Some(BufWriter::new(append(&attempts)?));
        }
        Ok(Self {
            dir,
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an attempt (written to disk at the next [`Journal::flush`]).
    pub fn record(&self, r: AttemptRecord) {
        let mut inner = self.lock();
        if let Some(f) = inner.file.as_mut() {
            let mut line = serde_json::to_vec(&r).expect("records serialize");
            line.push(b'\n');
            if let Err(e) = f.write_all(&line) {
                tracing::warn!(error = %e, "webhook delivery log write failed");
            }
            inner.lines += 1;
        }
        inner.attempts.push_back(r);
        if inner.attempts.len() > KEEP_ATTEMPTS {
            inner.attempts.pop_front();
        }
    }

    /// Writes buffered attempts out; compacts the file when it is twice the
    /// number kept.
    pub fn flush(&self) {
        let mut inner = self.lock();
        let Some(dir) = &self.dir else { return };
        if let Some(f) = inner.file.as_mut()
            && let Err(e) = f.flush()
        {
            tracing::warn!(error = %e, "webhook delivery log flush failed");
        }
        if inner.retries_dirty && inner.file.is_some() {
            let list: Vec<RetryEntry> = inner
                .retries
                .iter()
                .map(|((position, t), state)| RetryEntry {
                    position: *position,
                    webhook_type: t.clone(),
                    state: *state,
                })
                .collect();
            let bytes = serde_json::to_vec(&list).expect("retry clocks serialize");
            match write_private(&dir.join("retries.json"), &bytes) {
                Ok(()) => inner.retries_dirty = false,
                Err(e) => tracing::warn!(error = %e, "webhook retry clocks write failed"),
            }
        }
        if inner.lines > 2 * KEEP_ATTEMPTS {
            let path = dir.join("attempts.jsonl");
            let mut bytes = Vec::new();
            for r in &inner.attempts {
                bytes.extend(serde_json::to_vec(r).expect("records serialize"));
                bytes.push(b'\n');
            }
            match write_private(&path, &bytes)
                .map_err(|e| e.to_string())
                .and_then(|()| append(&path).map_err(|e| e.to_string()))
            {
                Ok(f) => {
                    inner.file = Some(BufWriter::new(f));
                    inner.lines = inner.attempts.len();
                }
                Err(e) => tracing::warn!(error = %e, "webhook delivery log compaction failed"),
            }
        }
    }

    /// Deletes the journal's files (a removed room override that finished);
    /// it keeps working in memory.
    pub fn remove_files(&self) {
        let mut inner = self.lock();
        inner.file = None;
        inner.lines = 0;
        if let Some(dir) = &self.dir
            && let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "webhook delivery log removal failed");
        }
    }

    /// The retry clock of a failing delivery, if it has one.
    pub fn retry_state(&self, position: u64, webhook_type: &str) -> Option<RetryState> {
        self.lock()
            .retries
            .get(&(position, webhook_type.to_owned()))
            .copied()
    }

    /// Records where a failing delivery stands (written at the next flush).
    pub fn set_retry(&self, position: u64, webhook_type: &str, state: RetryState) {
        let mut inner = self.lock();
        inner
            .retries
            .insert((position, webhook_type.to_owned()), state);
        inner.retries_dirty = true;
    }

    /// Forgets a delivery's retry clock (it succeeded or was dead-lettered).
    pub fn clear_retry(&self, position: u64, webhook_type: &str) {
        let mut inner = self.lock();
        if inner
            .retries
            .remove(&(position, webhook_type.to_owned()))
            .is_some()
        {
            inner.retries_dirty = true;
        }
    }

    /// Forgets the retry clocks of events at or below `position` (the
    /// checkpoint: they are finished).
    pub fn forget_retries_through(&self, position: u64) {
        let mut inner = self.lock();
        let before = inner.retries.len();
        inner.retries.retain(|(p, _), _| *p > position);
        if inner.retries.len() != before {
            inner.retries_dirty = true;
        }
    }

    /// The latest attempts, newest first.
    pub fn attempts(&self, limit: usize, success: Option<bool>) -> Vec<AttemptRecord> {
        self.lock()
            .attempts
            .iter()
            .rev()
            .filter(|r| success.is_none_or(|s| r.success == s))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Adds (or replaces) a dead letter.
    pub fn dead_letter(&self, d: DeadLetter) {
        let mut inner = self.lock();
        inner.dead.insert((d.position, d.webhook_type.clone()), d);
        while inner.dead.len() > MAX_DEAD_LETTERS {
            if let Some((k, _)) = inner.dead.pop_first() {
                tracing::warn!(position = k.0, "dead-letter list full: oldest dropped");
            }
        }
        self.save_dead(&inner);
    }

    /// Removes a dead letter (it was redelivered).
    pub fn remove_dead(&self, position: u64, webhook_type: &str) {
        let mut inner = self.lock();
        if inner
            .dead
            .remove(&(position, webhook_type.to_owned()))
            .is_some()
        {
            self.save_dead(&inner);
        }
    }

    /// The dead letters, by position.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.lock().dead.values().cloned().collect()
    }

    fn save_dead(&self, inner: &Inner) {
        let Some(dir) = &self.dir else { return };
        let list: Vec<&DeadLetter> = inner.dead.values().collect();
        let bytes = serde_json::to_vec(&list).expect("dead letters serialize");
        if let Err(e) = write_private(&dir.join("dead-letters.json"), &bytes) {
            tracing::error!(error = %e, "dead-letter list write failed");
        }
    }
}

fn append(path: &std::path::Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(position: u64, success: bool) -> AttemptRecord {
        AttemptRecord {
            at_us: 0,
            envelope_id: Uuid::nil(),
            webhook_type: "peer.join.success".into(),
            room: "room-x".into(),
            position,
            attempt: 1,
            status: Some(if success { 200 } else { 500 }),
            error: None,
            latency_ms: 1.0,
            success,
            redelivery: false,
        }
    }

    #[test]
    fn attempts_and_dead_letters_survive_a_reopen_and_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(Some(dir.path().into())).unwrap();
        for i in 0..(2 * KEEP_ATTEMPTS as u64 + 10) {
            j.record(attempt(i, i % 2 == 0));
        }
        j.flush();
        j.dead_letter(DeadLetter {
            position: 7,
            envelope_id: Uuid::nil(),
            webhook_type: "peer.join.success".into(),
            room: "room-x".into(),
            attempts: 4,
            last_status: Some(500),
            last_error: None,
            dead_at_us: 0,
        });
        drop(j);
        let j = Journal::open(Some(dir.path().into())).unwrap();
        let all = j.attempts(usize::MAX, None);
        assert_eq!(all.len(), KEEP_ATTEMPTS);
        assert_eq!(all[0].position, 2 * KEEP_ATTEMPTS as u64 + 9);
        assert!(j.attempts(10, Some(false)).iter().all(|r| !r.success));
        assert_eq!(j.dead_letters().len(), 1);
        j.remove_dead(7, "peer.join.success");
        drop(j);
        let j = Journal::open(Some(dir.path().into())).unwrap();
        assert!(j.dead_letters().is_empty());
    }
}
