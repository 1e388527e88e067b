//! The engine: executors and projections over one log, started together.

use std::path::PathBuf;
use std::sync::Arc;

use caucus_domain::{Room, Template};
use caucus_eventlog::EventLog;

use crate::executor::Executor;
use crate::history::SessionHistory;
use crate::live::LiveRooms;
use crate::runner::{Projected, ProjectionError, SnapshotDir};

/// Everything a front end (REST API, signalling, CLI) needs to change rooms and
/// read them. Cheap to share behind an `Arc`.
pub struct Engine {
    pub log: Arc<dyn EventLog>,
    pub rooms: Executor<Room>,
    pub templates: Executor<Template>,
    pub live: Projected<LiveRooms>,
    pub history: Projected<SessionHistory>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("live", &self.live)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the projections (from their snapshots in `snapshots`, when given)
    /// and waits until they have caught up with the log.
    pub async fn start(
        log: Arc<dyn EventLog>,
        snapshots: Option<PathBuf>,
    ) -> Result<Arc<Self>, ProjectionError> {
        let dir = snapshots.map(SnapshotDir);
        let live = Projected::start(log.clone(), dir.clone()).await?;
        let history = Projected::start(log.clone(), dir).await?;
        live.wait_caught_up().await?;
        history.wait_caught_up().await?;
        Ok(Arc::new(Self {
            rooms: Executor::new(log.clone()),
            templates: Executor::new(log.clone()),
            log,
            live,
            history,
        }))
    }

    /// Stops the projections after snapshotting them and storing their
    /// checkpoints, so the next start resumes instead of rebuilding. Call before
    /// closing the log.
    pub async fn shutdown(&self) {
        self.live.shutdown().await;
        self.history.shutdown().await;
    }
}
