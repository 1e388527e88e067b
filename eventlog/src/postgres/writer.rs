//! The writer task: application-level group commit.
//!
//! Appends queue on a channel. The one writer task of a [`PostgresLog`](super::PostgresLog)
//! takes everything waiting (up to a bound), runs it as one transaction with the
//! [`append`](super::append) protocol, commits once, and answers each caller.
//! While one group commits the next one gathers, so under load each commit
//! carries many appends; alone, an append is one short transaction.
//!
//! Failures: a database error (a unique violation from a racing node, a
//! deadlock) aborts the group, which is then retried one append per
//! transaction, so one append's problem never fails the others. A lost
//! connection answers [`AppendError::Unavailable`] to every append of the
//! group: nothing of it is visible unless COMMIT got through, and a retry with
//! the same event ids is idempotent either way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use deadpool_postgres::Pool;
use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use super::append::{self, AppendStatements, Decision, Request};
use crate::error::AppendError;
use crate::types::{AppendOutcome, Position};

/// Called with the group's transaction open, just before COMMIT; `false` rolls
/// the group back. For tests that delay or abort commits.
#[doc(hidden)]
pub type PreCommitHook = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// Groups in flight at once. With more than one, the next group locks its
/// streams and decides while the previous one flushes its commit, but the
/// writers split between the groups; with COMMIT pipelined behind the insert,
/// one group at a time gave 1.3-2x more events/s with 16 single-event writers
/// on our 2-vCPU test machine, so that is the default.
const PIPELINE: usize = 1;
/// Most appends in one group.
const MAX_GROUP_APPENDS: usize = 512;
/// Most events in one group (a single larger append still goes alone).
const MAX_GROUP_EVENTS: usize = 20_000;

pub(crate) struct Job {
    pub request: Request,
    pub reply: oneshot::Sender<Result<AppendOutcome, AppendError>>,
}

pub(crate) struct Writer {
    pub pool: Pool,
    pub head: Arc<watch::Sender<Option<Position>>>,
    pub hook: Arc<Mutex<Option<PreCommitHook>>>,
}

impl Writer {
    /// Runs until every sender is gone and every queued append is answered.
    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Job>) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(PIPELINE));
        let (deferred_tx, mut deferred_rx) = mpsc::unbounded_channel::<Vec<Job>>();
        let mut waiting: VecDeque<Job> = VecDeque::new();
        let mut open = true;
        let mut committing: Option<oneshot::Receiver<()>> = None;
        loop {
            while let Ok(jobs) = deferred_rx.try_recv() {
                for job in jobs.into_iter().rev() {
                    waiting.push_front(job);
                }
            }
            if waiting.is_empty() {
                tokio::select! {
                    job = rx.recv(), if open => match job {
                        Some(job) => waiting.push_back(job),
                        None => open = false,
                    },
                    jobs = deferred_rx.recv() => waiting.extend(jobs.into_iter().flatten()),
                    // Closed and idle: every group has finished.
                    _ = slots.acquire_many(PIPELINE as u32), if !open => return,
                }
                continue;
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            // Gather while the previous group does its first statements; start
            // once it holds the head row, so this group's locking and deciding
            // overlaps only its COMMIT.
            if let Some(prev) = committing.take() {
                let _ = prev.await;
            }
            // Let the callers just answered queue their next appends, so the
            // group does not leave one behind for a group of its own.
            tokio::task::yield_now().await;
            while waiting.len() < MAX_GROUP_APPENDS {
                match rx.try_recv() {
                    Ok(job) => waiting.push_back(job),
                    Err(_) => break,
                }
            }
            let mut group = Vec::new();
            let mut events = 0;
            while let Some(job) = waiting.front() {
                let n = job.request.events.len();
                if !group.is_empty() && events + n > MAX_GROUP_EVENTS {
                    break;
                }
                events += n;
                group.extend(waiting.pop_front());
            }
            let (this, deferred_tx) = (this.clone(), deferred_tx.clone());
            let (reached_commit, next) = oneshot::channel();
            committing = Some(next);
            tokio::spawn(async move {
                let deferred = this.run_group(group, reached_commit).await;
                if !deferred.is_empty() {
                    let _ = deferred_tx.send(deferred);
                }
                drop(slot);
            });
        }
    }

    /// Runs one group; returns the jobs deferred to the next group.
    async fn run_group(&self, jobs: Vec<Job>, reached_commit: oneshot::Sender<()>) -> Vec<Job> {
        let mut reached_commit = Some(reached_commit);
        match self.try_group(&jobs, &mut reached_commit).await {
            Ok(answers) => self.answer(jobs, answers),
            // Retrying alone also settles a single append that lost a race:
            // the rerun sees the other node's committed rows.
            Err(GroupFailure::Database(e)) => {
                tracing::debug!(error = %e, appends = jobs.len(), "append group failed; retrying one by one");
                let mut deferred = Vec::new();
                for job in jobs {
                    let answers = match self
                        .try_group(std::slice::from_ref(&job), &mut reached_commit)
                        .await
                    {
                        Ok(a) => a,
                        Err(f) => vec![Answer::Now(Err(f.into_error()))],
                    };
                    deferred.extend(self.answer(vec![job], answers));
                }
                deferred
            }
            Err(f) => {
                let msg = f.message();
                for job in jobs {
                    let _ = job.reply.send(Err(AppendError::Unavailable(msg.clone())));
                }
                Vec::new()
            }
        }
    }

    fn answer(&self, jobs: Vec<Job>, answers: Vec<Answer>) -> Vec<Job> {
        let mut deferred = Vec::new();
        for (job, answer) in jobs.into_iter().zip(answers) {
            match answer {
                Answer::Now(r) => {
                    let _ = job.reply.send(r);
                }
                Answer::Later => deferred.push(job),
            }
        }
        deferred
    }

    /// Runs `jobs` as one transaction; fires `reached_commit` once it holds
    /// the head row (or has nothing to write) and is about to commit.
    async fn try_group(
        &self,
        jobs: &[Job],
        reached_commit: &mut Option<oneshot::Sender<()>>,
    ) -> Result<Vec<Answer>, GroupFailure> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| GroupFailure::Connection(format!("no database connection: {e}")))?;
        let st = AppendStatements::cached(&client)
            .await
            .map_err(GroupFailure::from)?;
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        let hook = self.hook.lock().ok().and_then(|h| h.clone());
        // Without a hook to run before COMMIT, a writing group pipelines it.
        let group = match append::begin_group(
            &client,
            &st,
            &requests,
            hook.is_none(),
            reached_commit,
        )
        .await
        {
            Ok(g) => g,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(e.into());
            }
        };
        if let Some(signal) = reached_commit.take() {
            let _ = signal.send(());
        }
        let writes = group.last_position.is_some();
        let finished = match group.committed {
            Some(done) => done.map(|()| true),
            None => {
                let commit = match &hook {
                    Some(hook) => hook().await,
                    None => true,
                };
                let finish = if commit { "COMMIT" } else { "ROLLBACK" };
                client.batch_execute(finish).await.map(|()| commit)
            }
        };
        let committed = match finished {
            Ok(committed) => committed,
            Err(e) if writes => {
                // The outcome of COMMIT is unknown: the caller retries with the
                // same ids and idempotency tells.
                let failure = GroupFailure::from(e);
                return Ok(group
                    .decisions
                    .into_iter()
                    .map(|d| match d {
                        Decision::Written(_) => {
                            Answer::Now(Err(AppendError::Unavailable(failure.message())))
                        }
                        Decision::Answered(r) => Answer::Now(r),
                        Decision::Deferred => Answer::Later,
                    })
                    .collect());
            }
            // Nothing was written: the answers stand whatever became of it.
            Err(_) => false,
        };
        if committed && let Some(last) = group.last_position {
            // Commit order is position order, so everything up to `last` is
            // committed now.
            self.head.send_if_modified(|h| {
                let moved = *h < Some(last);
                if moved {
                    *h = Some(last);
                }
                moved
            });
        }
        Ok(group
            .decisions
            .into_iter()
            .map(|d| match d {
                Decision::Written(o) if committed => Answer::Now(Ok(o)),
                Decision::Written(_) => Answer::Now(Err(AppendError::Unavailable(
                    "the append transaction was rolled back before commit".into(),
                ))),
                Decision::Answered(r) => Answer::Now(r),
                Decision::Deferred => Answer::Later,
            })
            .collect())
    }
}

enum Answer {
    Now(Result<AppendOutcome, AppendError>),
    Later,
}

/// Why a group failed as a whole.
enum GroupFailure {
    /// The server refused the transaction (constraint race, deadlock, timeout):
    /// worth retrying the appends one by one.
    Database(tokio_postgres::Error),
    /// The connection is gone or could not be had.
    Connection(String),
}

impl From<tokio_postgres::Error> for GroupFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.as_db_error().is_some() && !e.is_closed() {
            GroupFailure::Database(e)
        } else {
            GroupFailure::Connection(format!(
                "lost the database connection: {}",
                super::describe(&e)
            ))
        }
    }
}

impl GroupFailure {
    fn message(&self) -> String {
        match self {
            GroupFailure::Database(e) => {
                format!("append transaction failed: {}", super::describe(e))
            }
            GroupFailure::Connection(m) => m.clone(),
        }
    }

    fn into_error(self) -> AppendError {
        AppendError::Unavailable(self.message())
    }
}
