//! Keeps a [`Projection`] current from the log, with a stored checkpoint.
//!
//! ```text
//! let live = Projected::<LiveRooms>::start(log, Some(snapshot_dir)).await?;
//! live.wait_for(outcome.last_position).await;     // read-your-writes
//! let peers = live.read(|rooms| rooms.peers(&room_id));
//! ```
//!
//! One task owns the subscription and applies events in position order; readers
//! take a short read lock and never hold it across `.await`. Every
//! [`SNAPSHOT_EVERY`] events (and on shutdown) the task writes a snapshot of the
//! projection and then stores its checkpoint in the log, so a restart resumes from
//! the snapshot. Without a usable snapshot the projection rebuilds from position 0;
//! both paths give the same state (a property test holds this).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use caucus_eventlog::{
    EventLog, Filter, Position, ReadError, RecordedEvent, Subscription, SubscriptionMessage,
};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::watch;

use crate::codec::DecodeFailure;

/// A read model built by folding the log.
///
/// Applying an event is two steps: [`decode`](Self::decode), a pure function of
/// the recorded event, then [`fold`](Self::fold) into the state. A [`rebuild`]
/// decodes on the reading side, so both steps run at once on different events.
pub trait Projection: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Consumer name: the checkpoint's key and the snapshot's file name.
    const NAME: &'static str;

    /// What [`fold`](Self::fold) needs of one event.
    type Decoded: Send + 'static;

    /// Reads what the projection needs of an event: `None` for events it does
    /// not care about. A failure stops the projection (an event it cannot read
    /// means this build is older than the log).
    fn decode(event: &RecordedEvent) -> Result<Option<Self::Decoded>, DecodeFailure>;

    /// Folds one decoded event into the state. Cannot fail.
    fn fold(&mut self, decoded: Self::Decoded);

    /// Folds decoded events in order, as [`fold`](Self::fold) does one by one.
    /// A rebuild hands over a page at a time; a projection may override this to
    /// share work between neighbouring events of one stream.
    fn fold_all(&mut self, decoded: Vec<Self::Decoded>) {
        for d in decoded {
            self.fold(d);
        }
    }

    /// Applies one event: [`decode`](Self::decode), then [`fold`](Self::fold).
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeFailure> {
        if let Some(decoded) = Self::decode(event)? {
            self.fold(decoded);
        }
        Ok(())
    }
}

/// How many applied events between two snapshots.
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// Why a projection stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Decode(#[from] DecodeFailure),
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: String, reason: String },
}

/// A projection kept current by a background task.
pub struct Projected<P: Projection> {
    state: Arc<RwLock<P>>,
    applied: watch::Receiver<Progress>,
    stop: Arc<tokio::sync::Notify>,
    task: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl<P: Projection> std::fmt::Debug for Projected<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projected")
            .field("name", &P::NAME)
            .field("progress", &*self.applied.borrow())
            .finish()
    }
}

impl<P: Projection> Clone for Projected<P> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            applied: self.applied.clone(),
            stop: self.stop.clone(),
            task: self.task.clone(),
        }
    }
}

/// How far a projection has got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Last position applied (`None` before the first event).
    pub position: Option<Position>,
    /// True once the projection has read everything that was in the log when it
    /// started (it then serves live state).
    pub caught_up: bool,
    /// Set when the projection stopped on an error.
    pub failed: Option<String>,
}

/// Where a projection's snapshot lives.
#[derive(Clone, Debug)]
pub struct SnapshotDir(pub PathBuf);

impl SnapshotDir {
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(format!("{name}.json"))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot<P> {
    position: Option<u64>,
    state: P,
}

impl<P: Projection> Projected<P> {
    /// Loads the snapshot (if any) and starts following the log.
    pub async fn start(
        log: Arc<dyn EventLog>,
        snapshots: Option<SnapshotDir>,
    ) -> Result<Self, ProjectionError> {
        let (state, position) = match &snapshots {
            Some(dir) => load_snapshot::<P>(log.as_ref(), dir).await?,
            None => (P::default(), None),
        };
        let state = Arc::new(RwLock::new(state));
        let (tx, applied) = watch::channel(Progress {
            position,
            caught_up: false,
            failed: None,
        });
        let subscription = Subscription::new(log.clone(), position, Filter::All);
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(follow(
            log,
            subscription,
            state.clone(),
            tx,
            snapshots,
            stop.clone(),
        ));
        Ok(Self {
            state,
            applied,
            stop,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    /// Stops following the log, writes the snapshot and the checkpoint, and
    /// waits until both are stored. Reads keep working on the last state.
    pub async fn shutdown(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            self.stop.notify_one();
            if let Err(e) = task.await {
                tracing::warn!(projection = P::NAME, error = %e, "projection task failed");
            }
        }
    }

    /// Reads the projection under a short lock.
    pub fn read<R>(&self, f: impl FnOnce(&P) -> R) -> R {
        let guard = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    pub fn progress(&self) -> Progress {
        self.applied.borrow().clone()
    }

    /// Waits until the projection has applied `position` (read-your-writes).
    pub async fn wait_for(&self, position: Position) -> Result<(), ProjectionError> {
        self.wait_until(|p| p.position.is_some_and(|at| at >= position))
            .await
    }

    /// Waits until the projection has caught up with the log it started on.
    pub async fn wait_caught_up(&self) -> Result<(), ProjectionError> {
        self.wait_until(|p| p.caught_up).await
    }

    async fn wait_until(&self, done: impl Fn(&Progress) -> bool) -> Result<(), ProjectionError> {
        let mut rx = self.applied.clone();
        loop {
            {
                let p = rx.borrow_and_update();
                if let Some(reason) = &p.failed {
                    return Err(ProjectionError::Read(ReadError::Unavailable(
                        reason.clone(),
                    )));
                }
                if done(&p) {
                    return Ok(());
                }
            }
            rx.changed()
                .await
                .map_err(|_| ProjectionError::Read(ReadError::Closed))?;
        }
    }
}

/// Events read per page while rebuilding.
const REBUILD_PAGE: usize = 16_384;

/// Folds the whole log (up to `upto`, inclusive) into a fresh projection that
/// is not kept current: for replays and for checking that a rebuild equals the
/// live state.
///
/// Three stages run at once, each on its own page, so a replay uses more than
/// one core: a read of the log (its own task), decoding of the page read before
/// it (a reader task), and folding of the page decoded before that (here, in
/// position order). Decoded pages wait in a queue of two.
pub async fn rebuild<P: Projection>(
    log: &Arc<dyn EventLog>,
    upto: Option<Position>,
) -> Result<P, ProjectionError> {
    let (pages, mut rx) = tokio::sync::mpsc::channel(2);
    let reader = AbortOnDrop(tokio::spawn(decode_pages::<P>(log.clone(), upto, pages)));
    let mut state = P::default();
    while let Some(page) = rx.recv().await {
        state.fold_all(page?);
    }
    drop(reader);
    Ok(state)
}

/// A task that is stopped when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the log up to `upto` page by page, reading the next page while it
/// decodes this one, and sends the decoded pages until the log is read, an
/// error is sent, or the receiver is gone.
async fn decode_pages<P: Projection>(
    log: Arc<dyn EventLog>,
    upto: Option<Position>,
    pages: tokio::sync::mpsc::Sender<Result<Vec<P::Decoded>, ProjectionError>>,
) {
    let read = |after: Option<Position>| {
        let log = log.clone();
        AbortOnDrop(tokio::spawn(async move {
            log.read_all(after, REBUILD_PAGE).await
        }))
    };
    let mut next = Some(read(None));
    while let Some(mut reading) = next.take() {
        let page = match (&mut reading.0).await {
            Ok(page) => page,
            Err(e) => Err(ReadError::Unavailable(format!("read task failed: {e}"))),
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let _ = pages.send(Err(e.into())).await;
                return;
            }
        };
        let Some(last) = page.last().map(|e| e.position) else {
            return;
        };
        if upto.is_none_or(|u| last < u) {
            next = Some(read(Some(last)));
        }
        let decoded = decode_page::<P>(&page, upto);
        drop(page);
        let failed = decoded.is_err();
        if pages.send(decoded).await.is_err() || failed {
            return;
        }
    }
}

/// Decodes a page's events up to `upto`, stopping at the first failure.
fn decode_page<P: Projection>(
    page: &[RecordedEvent],
    upto: Option<Position>,
) -> Result<Vec<P::Decoded>, ProjectionError> {
    let mut out = Vec::with_capacity(page.len());
    for event in page {
        if upto.is_some_and(|u| event.position > u) {
            break;
        }
        if let Some(decoded) = P::decode(event)? {
            out.push(decoded);
        }
    }
    Ok(out)
}

async fn follow<P: Projection>(
    log: Arc<dyn EventLog>,
    mut subscription: Subscription,
    state: Arc<RwLock<P>>,
    progress: watch::Sender<Progress>,
    snapshots: Option<SnapshotDir>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut since_snapshot = 0u64;
    loop {
        let message = tokio::select! {
            m = subscription.next() => m,
            () = progress.closed() => break,
            () = stop.notified() => break,
        };
        match message {
            Ok(SubscriptionMessage::Event(event)) => {
                let result = {
                    let mut guard = state.write().unwrap_or_else(|p| p.into_inner());
                    guard.apply(&event)
                };
                if let Err(e) = result {
                    tracing::error!(projection = P::NAME, error = %e, "projection stopped");
                    progress.send_modify(|p| p.failed = Some(e.to_string()));
                    return;
                }
                progress.send_modify(|p| p.position = Some(event.position));
                since_snapshot += 1;
                if since_snapshot >= SNAPSHOT_EVERY {
                    since_snapshot = 0;
                    checkpoint(
                        log.as_ref(),
                        &state,
                        subscription.cursor(),
                        snapshots.as_ref(),
                    )
                    .await;
                }
            }
            Ok(SubscriptionMessage::CaughtUp) => {
                progress.send_modify(|p| p.caught_up = true);
            }
            Err(ReadError::Closed) => break,
            Err(e) => {
                tracing::error!(projection = P::NAME, error = %e, "projection stopped");
                progress.send_modify(|p| p.failed = Some(e.to_string()));
                return;
            }
        }
    }
    checkpoint(
        log.as_ref(),
        &state,
        subscription.cursor(),
        snapshots.as_ref(),
    )
    .await;
}

/// Writes the snapshot, then the checkpoint. A crash between the two leaves them
/// disagreeing; the next start then distrusts the snapshot and rebuilds from 0.
async fn checkpoint<P: Projection>(
    log: &dyn EventLog,
    state: &RwLock<P>,
    position: Option<Position>,
    snapshots: Option<&SnapshotDir>,
) {
    let (Some(dir), Some(position)) = (snapshots, position) else {
        return;
    };
    let bytes = {
        let guard = state.read().unwrap_or_else(|p| p.into_inner());
        serde_json::to_vec(&Snapshot {
            position: Some(position.0),
            state: &*guard,
        })
    };
    let result = match bytes {
        Ok(bytes) => write_atomically(&dir.file(P::NAME), &bytes)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => {
            if let Err(e) = log.save_checkpoint(P::NAME, position).await {
                tracing::warn!(projection = P::NAME, error = %e, "checkpoint not saved");
            }
        }
        Err(e) => tracing::warn!(projection = P::NAME, error = %e, "snapshot not written"),
    }
}

async fn load_snapshot<P: Projection>(
    log: &dyn EventLog,
    dir: &SnapshotDir,
) -> Result<(P, Option<Position>), ProjectionError> {
    let path = dir.file(P::NAME);
    let checkpoint = log.load_checkpoint(P::NAME).await?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((P::default(), None)),
        Err(e) => {
            return Err(ProjectionError::Snapshot {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    match serde_json::from_slice::<Snapshot<P>>(&bytes) {
        // The snapshot is only trusted when the stored checkpoint vouches for it.
        Ok(s) if s.position.map(Position) == checkpoint && s.position.is_some() => {
            Ok((s.state, checkpoint))
        }
        Ok(_) => {
            tracing::info!(
                projection = P::NAME,
                "snapshot does not match the checkpoint; rebuilding from 0"
            );
            Ok((P::default(), None))
        }
        Err(e) => {
            tracing::warn!(projection = P::NAME, error = %e, "unreadable snapshot; rebuilding from 0");
            Ok((P::default(), None))
        }
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}
