//! [`Webhooks`]: the handle the server starts and the API calls. It owns the
//! endpoint store and one consumer per endpoint.
//!
//! ```text
//! let hooks = Webhooks::start(log, Some(data_dir.join("webhooks")), DeliveryConfig::default()).await?;
//! let (endpoint, secret) = hooks.create(&workspace, spec).await?;   // consumer starts at the head
//! hooks.redeliver(&workspace, &endpoint.id, Selection::DeadLetters).await?;
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use caucus_domain::{RoomId, WorkspaceId};
use caucus_eventlog::{EventLog, Position};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::client::Sender;
use super::delivery::{
    ConsumerProgress, DeliveryConfig, Runtime, checkpoint_name, deliver_with_retries, now, run,
};
use super::endpoint::{Endpoint, EndpointError, EndpointSpec, EndpointStore, RoomHook};
use super::journal::{AttemptRecord, DeadLetter, Journal};
use super::replay::{RedeliverError, Selection, collect};
use super::signer::SigningSecret;

/// Why the service could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Redeliver(#[from] RedeliverError),
    #[error("webhook state: {0}")]
    Io(String),
    #[error("event log: {0}")]
    Log(String),
}

struct Worker {
    runtime: Arc<Runtime>,
    progress: watch::Receiver<ConsumerProgress>,
    task: JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Inner {
    log: Arc<dyn EventLog>,
    dir: Option<PathBuf>,
    store: Arc<EndpointStore>,
    sender: Sender,
    config: DeliveryConfig,
    workers: Mutex<HashMap<String, Worker>>,
}

/// The webhook service; cheap to clone. Dropping the last clone stops every
/// consumer.
#[derive(Clone)]
pub struct Webhooks(Arc<Inner>);

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("dir", &self.0.dir)
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Opens the endpoint store in `dir` (`None`: in memory, for tests) and
    /// starts a consumer for every endpoint, each from its checkpoint.
    pub async fn start(
        log: Arc<dyn EventLog>,
        dir: Option<PathBuf>,
        config: DeliveryConfig,
    ) -> Result<Self, WebhookError> {
        let store = match &dir {
            Some(d) => EndpointStore::open(d)?,
            None => EndpointStore::in_memory(),
        };
        let service = Self(Arc::new(Inner {
            log,
            sender: Sender::new(config.client),
            dir,
            store: Arc::new(store),
            config,
            workers: Mutex::new(HashMap::new()),
        }));
        for e in service.0.store.all() {
            let finished = e
                .room
                .as_ref()
                .and_then(|s| s.removed.as_ref())
                .is_some_and(|r| r.finished);
            if !finished {
                service.spawn(&e.id)?;
            }
        }
        Ok(service)
    }

    /// The endpoint store (reads).
    pub fn endpoints(&self) -> &EndpointStore {
        &self.0.store
    }

    /// The URL policy in force.
    pub fn policy(&self) -> &super::policy::UrlPolicy {
        &self.0.config.client.policy
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Worker>> {
        self.0.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn runtime(&self, id: &str) -> Result<Arc<Runtime>, WebhookError> {
        let journal_dir = self.0.dir.as_ref().map(|d| d.join(id));
        let journal = Journal::open(journal_dir).map_err(|e| WebhookError::Io(e.to_string()))?;
        Ok(Arc::new(Runtime {
            id: id.to_owned(),
            store: self.0.store.clone(),
            journal: Arc::new(journal),
            sender: self.0.sender.clone(),
            config: self.0.config.clone(),
            permits: Semaphore::new(self.0.config.max_concurrency.max(1)),
        }))
    }

    fn spawn(&self, id: &str) -> Result<(), WebhookError> {
        let runtime = self.runtime(id)?;
        let (tx, progress) = watch::channel(ConsumerProgress::default());
        let task = tokio::spawn(run(runtime.clone(), self.0.log.clone(), tx));
        self.workers().insert(
            id.to_owned(),
            Worker {
                runtime,
                progress,
                task,
            },
        );
        Ok(())
    }

    /// Creates an endpoint; its consumer starts at the log's head. The secret
    /// is returned here and never again.
    pub async fn create(
        &self,
        workspace: &WorkspaceId,
        spec: EndpointSpec,
    ) -> Result<(Endpoint, SigningSecret), WebhookError> {
        let (endpoint, secret) =
            self.0
                .store
                .create(workspace, spec, now(), &self.0.config.client.policy)?;
        let head = *self.0.log.head().borrow();
        if let Some(head) = head
            && let Err(e) = self
                .0
                .log
                .save_checkpoint(&checkpoint_name(&endpoint.id), head)
                .await
        {
            let _ = self.0.store.delete(workspace, &endpoint.id);
            return Err(WebhookError::Log(e.to_string()));
        }
        self.spawn(&endpoint.id)?;
        Ok((endpoint, secret))
    }

    /// Sets a room's webhook override (Room API `webhook`). The room's events
    /// after the log's current head go to it instead of the workspace
    /// endpoints. The first time, it gets its own consumer and signing secret,
    /// returned here once; later calls change url and headers only.
    pub async fn set_room_override(
        &self,
        workspace: &WorkspaceId,
        room: &RoomId,
        hook: RoomHook,
    ) -> Result<(Endpoint, Option<SigningSecret>), WebhookError> {
        let head = self.0.log.head();
        let (endpoint, secret) = self.0.store.set_room_override(
            workspace,
            room,
            hook,
            now(),
            &self.0.config.client.policy,
            || head.borrow().map(|p| p.0),
        )?;
        if secret.is_some() {
            // Only a shortcut: the scope starts after `after` whatever the
            // checkpoint says, so a failed save costs reading, not routing.
            if let Some(after) = endpoint.room.as_ref().and_then(|s| s.after)
                && let Err(e) = self
                    .0
                    .log
                    .save_checkpoint(&checkpoint_name(&endpoint.id), Position(after))
                    .await
            {
                tracing::warn!(endpoint = %endpoint.id, error = %e,
                    "room override starts reading from the log's start");
            }
            self.spawn(&endpoint.id)?;
        }
        Ok((endpoint, secret))
    }

    /// Removes a room's override; returns it, or `None` when there was none.
    /// Its consumer finishes the events it covers, then stops.
    pub fn remove_room_override(
        &self,
        workspace: &WorkspaceId,
        room: &RoomId,
    ) -> Result<Option<Endpoint>, WebhookError> {
        let head = self.0.log.head();
        Ok(self
            .0
            .store
            .remove_room_override(workspace, room, now(), || head.borrow().map(|p| p.0))?)
    }

    /// Changes an endpoint; deliveries use the new settings from their next attempt.
    pub fn update(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        spec: EndpointSpec,
    ) -> Result<Endpoint, WebhookError> {
        Ok(self
            .0
            .store
            .update(workspace, id, spec, now(), &self.0.config.client.policy)?)
    }

    /// Deletes an endpoint, stops its consumer and removes its files.
    pub fn delete(&self, workspace: &WorkspaceId, id: &str) -> Result<(), WebhookError> {
        self.0.store.delete(workspace, id)?;
        self.workers().remove(id);
        if let Some(dir) = &self.0.dir {
            let _ = std::fs::remove_dir_all(dir.join(id));
        }
        Ok(())
    }

    /// A new secret; the old ones keep signing for `overlap_seconds`.
    pub fn rotate(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        overlap_seconds: i64,
    ) -> Result<SigningSecret, WebhookError> {
        Ok(self.0.store.rotate(workspace, id, overlap_seconds, now())?)
    }

    fn worker_runtime(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<Arc<Runtime>, WebhookError> {
        self.0
            .store
            .get(workspace, id)
            .ok_or(EndpointError::NotFound)?;
        self.workers()
            .get(id)
            .map(|w| w.runtime.clone())
            .ok_or_else(|| EndpointError::NotFound.into())
    }

    /// The latest delivery attempts, newest first.
    pub fn deliveries(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        limit: usize,
        success: Option<bool>,
    ) -> Result<Vec<AttemptRecord>, WebhookError> {
        Ok(self
            .worker_runtime(workspace, id)?
            .journal
            .attempts(limit, success))
    }

    /// The dead letters, by position.
    pub fn dead_letters(
        &self,
        workspace: &WorkspaceId,
        id: &str,
    ) -> Result<Vec<DeadLetter>, WebhookError> {
        Ok(self.worker_runtime(workspace, id)?.journal.dead_letters())
    }

    /// How far an endpoint's consumer got.
    pub fn progress(&self, id: &str) -> Option<ConsumerProgress> {
        self.workers().get(id).map(|w| w.progress.borrow().clone())
    }

    /// Redelivers the selected webhooks in position order, in the background;
    /// returns how many were queued.
    pub async fn redeliver(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        selection: Selection,
    ) -> Result<usize, WebhookError> {
        let rt = self.worker_runtime(workspace, id)?;
        let endpoint = self
            .0
            .store
            .get(workspace, id)
            .ok_or(EndpointError::NotFound)?;
        let dead = rt.journal.dead_letters();
        let payloads = collect(
            self.0.log.as_ref(),
            &self.0.store,
            &endpoint,
            &selection,
            &dead,
        )
        .await?;
        let n = payloads.len();
        tokio::spawn(async move {
            for p in &payloads {
                deliver_with_retries(&rt, p, true).await;
            }
            rt.journal.flush();
        });
        Ok(n)
    }
}
