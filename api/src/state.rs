//! What every handler shares: the engine (executors and projections over one
//! log), the workspaces, the room-code executor and projection, metrics, and
//! the id generator. No globals: tests build as many as they like.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use caucus_domain::{Aggregate, Room, Template, Timestamp, WorkspaceId};
use caucus_eventlog::Metadata;
use caucus_projections::{Engine, Executed, Executor, Projected, ProjectionError, SnapshotDir};

use crate::codes::{CodeIndex, RoomCodes};
use crate::error::ApiError;
use crate::extract::Caller;
use crate::ids::IdGen;
use crate::metrics::Metrics;
use crate::timefmt;
use crate::workspaces::WorkspaceStore;

/// Largest accepted request body, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The application state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    engine: Arc<Engine>,
    workspaces: Arc<WorkspaceStore>,
    codes: Executor<RoomCodes>,
    code_index: Projected<CodeIndex>,
    metrics: Metrics,
    ids: IdGen,
    /// Serializes creates and renames that claim the same name in a workspace
    /// (see [`AppState::name_lock`]).
    names: NameLocks,
}

impl AppState {
    /// Starts the room-code projection on the engine's log (from its snapshot in
    /// `snapshots`, when given) and waits until it has caught up.
    pub async fn new(
        engine: Arc<Engine>,
        workspaces: Arc<WorkspaceStore>,
        metrics: Metrics,
        snapshots: Option<PathBuf>,
    ) -> Result<Self, ProjectionError> {
        let code_index =
            Projected::<CodeIndex>::start(engine.log.clone(), snapshots.map(SnapshotDir)).await?;
        code_index.wait_caught_up().await?;
        Ok(Self(Arc::new(Inner {
            codes: Executor::new(engine.log.clone()),
            engine,
            workspaces,
            code_index,
            metrics,
            ids: IdGen::new(),
            names: NameLocks::default(),
        })))
    }

    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    pub fn workspaces(&self) -> &WorkspaceStore {
        &self.0.workspaces
    }

    pub fn code_index(&self) -> &Projected<CodeIndex> {
        &self.0.code_index
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        timefmt::now()
    }

    /// A new 24-hex id.
    pub fn new_id(&self) -> String {
        self.0
            .ids
            .next(self.now().unix_micros().div_euclid(1_000_000))
    }

    /// Locks a name of a kind (`room`, `template`) in a workspace while a
    /// create or rename checks the projection, appends, and waits for the
    /// projection: two requests claiming the same name run one after the
    /// other, requests for different names run concurrently (and their appends
    /// share group commits). `None` (a generated name) locks nothing. Names are
    /// compared case-insensitively. This holds within one server; nodes sharing
    /// a PostgreSQL log do not coordinate names yet.
    pub async fn name_lock(&self, kind: &str, ws: &WorkspaceId, name: Option<&str>) -> NameGuard {
        let Some(name) = name else {
            return NameGuard { held: None };
        };
        let key = format!("{kind}/{ws}/{}", name.to_lowercase());
        let lock = {
            let mut map = self.0.names.0.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        NameGuard {
            held: Some((key, guard, self.clone())),
        }
    }

    /// Whether every projection is caught up and none has failed.
    pub fn ready(&self) -> bool {
        let ok = |caught_up: bool, failed: &Option<String>| caught_up && failed.is_none();
        let live = self.engine().live.progress();
        let history = self.engine().history.progress();
        let codes = self.code_index().progress();
        ok(live.caught_up, &live.failed)
            && ok(history.caught_up, &history.failed)
            && ok(codes.caught_up, &codes.failed)
    }

    /// Runs a room command and waits until the projections show its effect.
    pub async fn room_command(
        &self,
        caller: &Caller,
        room_id: &str,
        cmd: impl Into<<Room as Aggregate>::Command>,
    ) -> Result<Executed<Room>, ApiError> {
        let done = self
            .engine()
            .rooms
            .execute(room_id, cmd.into(), metadata(caller))
            .await?;
        if let Some(o) = &done.outcome {
            self.engine().live.wait_for(o.last_position).await?;
            self.engine().history.wait_for(o.last_position).await?;
        }
        Ok(done)
    }

    /// Runs a template command and waits until the live projection shows it.
    pub async fn template_command(
        &self,
        caller: &Caller,
        template_id: &str,
        cmd: <Template as Aggregate>::Command,
    ) -> Result<Executed<Template>, ApiError> {
        let done = self
            .engine()
            .templates
            .execute(template_id, cmd, metadata(caller))
            .await?;
        if let Some(o) = &done.outcome {
            self.engine().live.wait_for(o.last_position).await?;
        }
        Ok(done)
    }

    /// Runs a room-code command and waits until the code index shows it.
    pub async fn code_command(
        &self,
        actor: &str,
        room_id: &str,
        cmd: <RoomCodes as Aggregate>::Command,
    ) -> Result<Executed<RoomCodes>, ApiError> {
        let meta = Metadata {
            actor: Some(actor.to_owned()),
            ..Metadata::default()
        };
        let done = self.0.codes.execute(room_id, cmd, meta).await?;
        if let Some(o) = &done.outcome {
            self.code_index().wait_for(o.last_position).await?;
        }
        Ok(done)
    }
}

/// The per-name locks; entries live while someone holds or waits for them.
#[derive(Debug, Default)]
struct NameLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

/// Holds a name (see [`AppState::name_lock`]) until dropped.
#[derive(Debug)]
pub struct NameGuard {
    held: Option<(String, tokio::sync::OwnedMutexGuard<()>, AppState)>,
}

impl Drop for NameGuard {
    fn drop(&mut self) {
        if let Some((key, guard, state)) = self.held.take() {
            let mut map = state.0.names.0.lock().unwrap_or_else(|p| p.into_inner());
            drop(guard);
            // Only the map's own reference left: nobody holds or awaits it.
            if map.get(&key).is_some_and(|l| Arc::strong_count(l) == 1) {
                map.remove(&key);
            }
        }
    }
}

fn metadata(caller: &Caller) -> Metadata {
    Metadata {
        actor: Some(caller.actor()),
        correlation_id: Some(uuid::Uuid::now_v7()),
        causation_id: None,
    }
}
