//! The embedded store: the default [`EventLog`], in a data directory on local
//! disk.
//!
//! ```text
//! let log = EmbeddedLog::open(dir)?;            // recovers, rebuilds the index
//! log.append(&stream, expected, events).await?; // durable (fdatasync) when Ok
//! …
//! log.close().await;                            // commits what is queued, stops
//! ```
//!
//! One writer thread owns the active segment and commits every append that is
//! waiting as one group: one write, one `fdatasync`, then the group becomes
//! visible (see [`writer`]). Readers see only durable events, from an
//! in-memory cache of recent events or by positional reads of the segment
//! files, every frame checked against its CRC-32C.
//!
//! Data directory:
//!
//! ```text
//! LOCK                                 held by the open store (flock)
//! 00000000000000000000.log             segments, named by their first position
//! 00000000000000052311.log
//! checkpoints/<hex name>.ckpt          consumer checkpoints
//! ```
//!
//! The on-disk format and what recovery does with damage are specified in
//! `docs/embedded-log.md`.
//!
//! Layout: [`frame`] (the record format), [`segment`] (files and headers),
//! [`index`] (in-memory indexes and cache), [`recovery`] (scan, torn-tail
//! truncation, refusal of damaged acknowledged frames), [`writer`] (group
//! commit), [`reader`] (reads), [`checkpoint`].

pub mod checkpoint;
pub mod frame;
pub mod index;
pub mod reader;
pub mod recovery;
pub mod segment;
pub mod writer;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{oneshot, watch};

use crate::error::{AppendError, OpenError, ReadError};
use crate::log::EventLog;
use crate::rules::{self, Limits};
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

use checkpoint::Checkpoints;
use reader::Shared;
use segment::io_err;
use writer::{Request, Writer};

/// Tuning of an embedded store.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// A segment is sealed and a new one started once it reaches this size.
    pub segment_bytes: u64,
    /// Memory for the cache of recent events.
    pub cache_bytes: usize,
    /// Limits on appends (kept under the writer's drain size).
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            segment_bytes: 256 << 20,
            cache_bytes: 64 << 20,
            limits: Limits::default(),
        }
    }
}

/// The embedded store; see the module docs.
#[derive(Debug)]
pub struct EmbeddedLog {
    dir: PathBuf,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Request>,
    checkpoints: Arc<Checkpoints>,
    limits: Limits,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the store in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Arc<Self>, OpenError> {
        Self::open_with(dir, Options::default())
    }

    /// Opens the store in `dir`: takes the directory lock, scans and checks
    /// every segment, truncates a torn tail, and starts the writer.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Arc<Self>, OpenError> {
        let dir = dir.as_ref().to_path_buf();
        let limits = Limits {
            max_batch_bytes: options.limits.max_batch_bytes.min(4 << 20),
            max_event_bytes: options.limits.max_event_bytes.min(4 << 20),
            ..options.limits
        };
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let lock = lock_dir(&dir)?;
        let recovered = recovery::recover(&dir, options.cache_bytes)?;
        let head = recovered.index.next_position().checked_sub(1).map(Position);
        let segments = recovered
            .segments
            .into_iter()
            .map(|(_, f, layout)| (Arc::new(f), layout))
            .collect();
        let shared = Arc::new(Shared {
            index: RwLock::new(recovered.index),
            segments: RwLock::new(segments),
            head: watch::channel(head).0,
            read_buf: Mutex::new(Vec::new()),
        });
        let (tx, rx) = mpsc::channel();
        let writer = Writer::new(
            shared.clone(),
            rx,
            dir.clone(),
            recovered.active,
            options.segment_bytes.max(segment::HEADER_LEN as u64 + 1),
            lock,
        )
        .map_err(|e| io_err(&dir, e))?;
        let handle = std::thread::Builder::new()
            .name("caucus-log-writer".into())
            .spawn(move || {
                if let Some(done) = writer.run() {
                    let _ = done.send(());
                }
            })
            .map_err(|e| io_err(&dir, e))?;
        Ok(Arc::new(Self {
            checkpoints: Arc::new(Checkpoints::new(dir.join("checkpoints"))),
            dir,
            shared,
            tx,
            limits,
            writer: Mutex::new(Some(handle)),
        }))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Commits every queued append, stops the writer and releases the
    /// directory. Later appends fail with [`AppendError::Closed`]; reads of
    /// what is stored keep working. Idempotent.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Request::Close { done }).is_ok() {
            let _ = wait.await;
        }
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T, ReadError> + Send + 'static,
    ) -> Result<T, ReadError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| ReadError::Unavailable(format!("read task failed: {e}")))?
    }
}

/// Takes the directory's lock, waiting up to a second for a store of this
/// process that is still shutting down.
fn lock_dir(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OpenError::Other(format!(
                    "{} is in use by another open store",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path, e)),
        }
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        rules::validate_batch(&events, &self.limits)?;
        let size = events.iter().map(rules::event_size).sum::<usize>() + stream.as_str().len();
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::Append {
                stream: stream.clone(),
                expected,
                events,
                size,
                reply,
            })
            .map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let positions = self
            .shared
            .index()
            .stream_positions(stream, from_revision, max);
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        let all_cached = {
            let idx = self.shared.index();
            positions.first().is_some_and(|&p| p >= idx.cache_start())
        };
        if all_cached {
            return self.shared.events_at(&positions);
        }
        self.blocking(move |s| s.events_at(&positions)).await
    }

    async fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let from = match after {
            None => 0,
            Some(p) => match p.0.checked_add(1) {
                Some(f) => f,
                None => return Ok(Vec::new()),
            },
        };
        if max == 0 {
            return Ok(Vec::new());
        }
        let cached = from >= self.shared.index().cache_start();
        if cached {
            return self.shared.read_from(from, max);
        }
        self.blocking(move |s| s.read_from(from, max)).await
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, ReadError> {
        Ok(self.shared.index().stream_revision(stream))
    }

    fn head(&self) -> watch::Receiver<Option<Position>> {
        self.shared.head.subscribe()
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Option<Position>, ReadError> {
        self.checkpoints.load(consumer)
    }

    async fn checkpoints(&self) -> Result<Vec<(String, Position)>, ReadError> {
        self.checkpoints.list()
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), AppendError> {
        let checkpoints = self.checkpoints.clone();
        let consumer = consumer.to_owned();
        tokio::task::spawn_blocking(move || checkpoints.save(&consumer, position))
            .await
            .map_err(|e| AppendError::Unavailable(format!("checkpoint task failed: {e}")))?
    }
}
