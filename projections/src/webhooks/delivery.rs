//! The per-endpoint log consumer: reads room events from its checkpoint, maps
//! them to payloads, delivers them in order per room and concurrently across
//! rooms, retries with backoff and jitter, dead-letters, and moves its durable
//! checkpoint (`webhook-<endpoint id>`) only past events that are finished.
//!
//! ```text
//! dispatcher (one task):  subscription → context fold → payloads → room lane
//! lane (one task per room with work): for each job: deliver_with_retries → done
//! dispatcher: done → checkpoint = (lowest unfinished position) - 1, saved every tick
//! ```
//!
//! Stopping is aborting the dispatcher (its lanes go with it): the checkpoint
//! never covers an unfinished event, so a restart redelivers at most what was
//! in flight (at-least-once).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use caucus_domain::{Aggregate, Room, RoomEvent, Timestamp};
use caucus_eventlog::{
    EventLog, Filter, Position, ReadError, RecordedEvent, Subscription, SubscriptionMessage,
};
use rand::Rng;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::client::Sender;
use super::context::RoomContext;
use super::endpoint::{Endpoint, EndpointStore};
use super::journal::{AttemptRecord, DeadLetter, Journal, RetryState};
use super::payload::{Payload, map};
use crate::codec::{DecodeFailure, decode_event};

/// When to retry and when to give up.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first waits (100ms: 1 s, 3 s, 10 s).
    pub delays: Vec<Duration>,
    /// The wait after those, doubled on every further failure…
    pub then_from: Duration,
    /// …up to this.
    pub max_delay: Duration,
    /// Each wait is scaled by a random factor in `1 ± jitter`.
    pub jitter: f64,
    /// No retry starts later than this after the first attempt: then the event
    /// is dead-lettered.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(3),
                Duration::from_secs(10),
            ],
            then_from: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            jitter: 0.2,
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failure (1-based), before jitter.
    pub fn base_delay(&self, failures: u32) -> Duration {
        let n = failures.max(1) as usize;
        if let Some(d) = self.delays.get(n - 1) {
            return *d;
        }
        let doublings = (n - 1 - self.delays.len()).min(32) as u32;
        self.then_from
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_delay)
    }

    /// The wait after the `failures`-th failure, with jitter.
    pub fn delay(&self, failures: u32) -> Duration {
        let base = self.base_delay(failures);
        if self.jitter <= 0.0 {
            return base;
        }
        let factor = rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter));
        base.mul_f64(factor.max(0.0))
    }
}

/// Tuning of the consumers.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    pub retry: RetryPolicy,
    pub client: super::client::ClientConfig,
    /// Concurrent requests per endpoint.
    pub max_concurrency: usize,
    /// Events read but not finished, per endpoint: reading pauses beyond it.
    pub max_in_flight: usize,
    /// How often the checkpoint is saved and the delivery log flushed.
    pub tick: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            client: super::client::ClientConfig::default(),
            max_concurrency: 64,
            max_in_flight: 10_000,
            tick: Duration::from_millis(100),
        }
    }
}

/// What one endpoint's tasks share.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub id: String,
    pub store: Arc<EndpointStore>,
    pub journal: Arc<Journal>,
    pub sender: Sender,
    pub config: DeliveryConfig,
    pub permits: Semaphore,
}

/// The checkpoint name of an endpoint's consumer.
pub fn checkpoint_name(endpoint_id: &str) -> String {
    format!("webhook-{endpoint_id}")
}

/// Why a consumer stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Decode(#[from] DecodeFailure),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

/// Per-room contexts, rebuilt from the room's stream when missing or stale.
#[derive(Debug, Default)]
pub(crate) struct Contexts {
    rooms: HashMap<String, RoomContext>,
}

impl Contexts {
    /// The payloads of `recorded` (for every workspace and type: callers
    /// filter), advancing the room's context.
    pub async fn payloads(
        &mut self,
        log: &dyn EventLog,
        recorded: &RecordedEvent,
    ) -> Result<Vec<Payload>, ConsumerError> {
        if recorded.stream.category() != Room::CATEGORY {
            return Ok(Vec::new());
        }
        let key = recorded.stream.as_str();
        let stale = self
            .rooms
            .get(key)
            .is_none_or(|c| c.next_revision != recorded.revision);
        if stale {
            let mut ctx = RoomContext::default();
            let mut from = 0;
            while from < recorded.revision {
                let want = (recorded.revision - from) as usize;
                let page = log
                    .read_stream(&recorded.stream, from, want.min(1024))
                    .await?;
                if page.is_empty() {
                    break;
                }
                for e in &page {
                    let ev: RoomEvent = decode_event(e)?;
                    ctx.apply(&ev);
                }
                from += page.len() as u64;
            }
            self.rooms.insert(key.to_owned(), ctx);
        }
        let event: RoomEvent = decode_event(recorded)?;
        let ctx = self.rooms.get_mut(key).expect("inserted above");
        let out = map(ctx, recorded, &event);
        ctx.apply(&event);
        if ctx.is_idle() {
            self.rooms.remove(key);
        }
        Ok(out)
    }
}

/// The payloads of `recorded` that `endpoint` receives: its workspace's, of
/// the types it wants, and routed to it (a room override takes its room's
/// events from the workspace endpoints, see [`Endpoint::routes`]).
pub(crate) fn select(
    store: &EndpointStore,
    endpoint: &Endpoint,
    payloads: Vec<Payload>,
) -> Vec<Payload> {
    payloads
        .into_iter()
        .filter(|p| {
            p.workspace_id == endpoint.workspace_id
                && endpoint.wants(p.webhook_type)
                && endpoint.routes(store, &p.room, p.position.0)
        })
        .collect()
}

struct Job {
    position: u64,
    payloads: Vec<Payload>,
}

/// How far a consumer got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerProgress {
    /// Everything up to this position is finished (the saved checkpoint).
    pub checkpoint: Option<Position>,
    pub caught_up: bool,
    pub failed: Option<String>,
}

/// Runs an endpoint's consumer until aborted or a fatal error.
pub(crate) async fn run(
    rt: Arc<Runtime>,
    log: Arc<dyn EventLog>,
    progress: watch::Sender<ConsumerProgress>,
) {
    loop {
        match consume(&rt, log.clone(), &progress).await {
            Ok(()) => break,
            // The log shut down: the server is stopping; the checkpoint is safe.
            Err(ConsumerError::Read(ReadError::Closed)) => {
                tracing::info!(endpoint = %rt.id, "webhook consumer stopped with the log");
                break;
            }
            // The store is briefly unavailable: start over from the saved
            // checkpoint (what was in flight is sent again: at-least-once).
            Err(
                e @ (ConsumerError::Read(ReadError::Unavailable(_)) | ConsumerError::Checkpoint(_)),
            ) => {
                tracing::warn!(endpoint = %rt.id, error = %e, "webhook consumer restarting in 1 s");
                rt.journal.flush();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!(endpoint = %rt.id, error = %e, "webhook consumer stopped");
                progress.send_modify(|p| p.failed = Some(e.to_string()));
                break;
            }
        }
    }
    rt.journal.flush();
}

async fn consume(
    rt: &Arc<Runtime>,
    log: Arc<dyn EventLog>,
    progress: &watch::Sender<ConsumerProgress>,
) -> Result<(), ConsumerError> {
    let name = checkpoint_name(&rt.id);
    let start = log.load_checkpoint(&name).await?;
    if let Some(p) = start {
        rt.journal.forget_retries_through(p.0);
    }
    progress.send_modify(|p| p.checkpoint = start);
    let mut sub = Subscription::new(log.clone(), start, Filter::Category(Room::CATEGORY.into()));
    let mut head = log.head();
    let mut contexts = Contexts::default();
    let mut pending: BTreeSet<u64> = BTreeSet::new();
    let mut lanes: HashMap<String, (mpsc::UnboundedSender<Job>, usize)> = HashMap::new();
    let mut tasks = JoinSet::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, u64)>();
    let mut saved = start;
    let mut tick = tokio::time::interval(rt.config.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let room_for_more = pending.len() < rt.config.max_in_flight;
        tokio::select! {
            biased;
            Some((room, position)) = done_rx.recv() => {
                pending.remove(&position);
                if let Some(lane) = lanes.get_mut(&room) {
                    lane.1 -= 1;
                    if lane.1 == 0 {
                        lanes.remove(&room); // the lane task ends when its queue closes
                    }
                }
            }
            _ = tick.tick() => {
                rt.journal.flush();
                let finished = match pending.first() {
                    Some(&p) => p.checked_sub(1).map(Position),
                    None => sub.cursor(),
                };
                if finished > saved {
                    if let Some(p) = finished {
                        log.save_checkpoint(&name, p)
                            .await
                            .map_err(|e| ConsumerError::Checkpoint(e.to_string()))?;
                    }
                    saved = finished;
                    progress.send_modify(|p| p.checkpoint = saved);
                }
                while tasks.try_join_next().is_some() {}
                if pending.is_empty() && removed_override_done(rt, sub.cursor()) {
                    // A removed room override that delivered all it covers.
                    log.save_checkpoint(&name, sub.cursor().unwrap_or(Position(0)))
                        .await
                        .map_err(|e| ConsumerError::Checkpoint(e.to_string()))?;
                    rt.store
                        .retire(&rt.id)
                        .map_err(|e| ConsumerError::Checkpoint(e.to_string()))?;
                    rt.journal.remove_files();
                    tracing::info!(endpoint = %rt.id, "removed room webhook override finished");
                    return Ok(());
                }
            }
            msg = sub.next(), if room_for_more => match msg? {
                SubscriptionMessage::CaughtUp => progress.send_modify(|p| p.caught_up = true),
                SubscriptionMessage::Event(recorded) => {
                    // Room overrides start and end at the log head read when
                    // they are set or removed. Route an event only once the
                    // head covers it: a store may publish an event to readers
                    // just before it moves the head, and an override removed
                    // in that gap would otherwise end below an event the
                    // workspace endpoints already skipped (lost to both).
                    let position = recorded.position;
                    if head.borrow().is_none_or(|h| h < position) {
                        let _ = head.wait_for(|h| h.is_some_and(|h| h >= position)).await;
                    }
                    let Some(endpoint) = rt.store.by_id(&rt.id) else {
                        return Ok(()); // deleted: the service aborts us anyway
                    };
                    // A room override maps only its own room's events in its
                    // range: the rest are not its to send, and skipping them
                    // keeps an override from folding every room of the log.
                    if let Some(scope) = &endpoint.room
                        && !scope.covers(recorded.stream.as_str(), position.0)
                    {
                        continue;
                    }
                    let payloads = contexts.payloads(log.as_ref(), &recorded).await?;
                    let payloads = select(&rt.store, &endpoint, payloads);
                    if payloads.is_empty() {
                        continue;
                    }
                    let position = recorded.position.0;
                    pending.insert(position);
                    let room = recorded.stream.to_string();
                    let lane = lanes.entry(room.clone()).or_insert_with(|| {
                        let (tx, rx) = mpsc::unbounded_channel();
                        tasks.spawn(lane_task(rt.clone(), room.clone(), rx, done_tx.clone()));
                        (tx, 0)
                    });
                    lane.1 += 1;
                    let _ = lane.0.send(Job { position, payloads });
                }
            }
        }
    }
}

/// Whether this endpoint is a removed room override whose consumer has read
/// past everything it covers.
fn removed_override_done(rt: &Runtime, cursor: Option<Position>) -> bool {
    let Some(endpoint) = rt.store.by_id(&rt.id) else {
        return false;
    };
    let Some(removed) = endpoint.room.and_then(|s| s.removed) else {
        return false;
    };
    match removed.head {
        None => true,
        Some(h) => cursor.is_some_and(|c| c.0 >= h),
    }
}

async fn lane_task(
    rt: Arc<Runtime>,
    room: String,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    done: mpsc::UnboundedSender<(String, u64)>,
) {
    while let Some(job) = jobs.recv().await {
        for p in &job.payloads {
            deliver_with_retries(&rt, p, false).await;
        }
        let _ = done.send((room.clone(), job.position));
    }
}

/// The current time as a domain timestamp.
pub fn now() -> Timestamp {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(us)
}

/// Delivers one payload until it succeeds or the policy gives up (then it is
/// dead-lettered). Returns whether it was delivered.
///
/// The live consumer's retry clock (failed attempts, first attempt time, next
/// attempt time) is kept in the journal and written at every tick, so after a
/// restart a failing delivery waits for its next attempt and keeps counting
/// toward `give_up_after` instead of starting over. Redeliveries (asked for
/// through the API) keep theirs in memory.
pub(crate) async fn deliver_with_retries(rt: &Runtime, p: &Payload, redelivery: bool) -> bool {
    let kind = p.webhook_type;
    let position = p.position.0;
    let resumed = if redelivery {
        None
    } else {
        rt.journal.retry_state(position, kind)
    };
    let mut attempt = resumed.map_or(0, |r| r.attempts);
    let first_at_us = resumed.map_or_else(|| now().unix_micros(), |r| r.first_at_us);
    if let Some(r) = resumed {
        let wait_us = r.next_at_us.saturating_sub(now().unix_micros());
        if wait_us > 0 {
            tokio::time::sleep(Duration::from_micros(wait_us.unsigned_abs())).await;
        }
    }
    loop {
        attempt += 1;
        let Some(endpoint) = rt.store.by_id(&rt.id) else {
            return false;
        };
        let at = now();
        let outcome = {
            let _permit = rt.permits.acquire().await;
            rt.sender.send(&endpoint, p, at).await
        };
        let success = outcome.ok();
        rt.journal.record(AttemptRecord {
            at_us: at.unix_micros(),
            envelope_id: p.id,
            webhook_type: kind.to_owned(),
            room: p.room.clone(),
            position,
            attempt,
            status: outcome.status,
            error: outcome.error.clone(),
            latency_ms: outcome.latency.as_secs_f64() * 1000.0,
            success,
            redelivery,
        });
        if success {
            if redelivery {
                rt.journal.remove_dead(position, kind);
            } else {
                rt.journal.clear_retry(position, kind);
            }
            return true;
        }
        let wait = rt.config.retry.delay(attempt);
        let elapsed_us = now().unix_micros().saturating_sub(first_at_us).max(0);
        let elapsed = Duration::from_micros(elapsed_us.unsigned_abs());
        if elapsed + wait > rt.config.retry.give_up_after {
            tracing::warn!(endpoint = %rt.id, position, kind, attempts = attempt,
                "webhook dead-lettered");
            rt.journal.dead_letter(DeadLetter {
                position,
                envelope_id: p.id,
                webhook_type: kind.to_owned(),
                room: p.room.clone(),
                attempts: attempt,
                last_status: outcome.status,
                last_error: outcome.error,
                dead_at_us: now().unix_micros(),
            });
            if !redelivery {
                rt.journal.clear_retry(position, kind);
            }
            return false;
        }
        if !redelivery {
            let wait_us = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
            rt.journal.set_retry(
                position,
                kind,
                RetryState {
                    attempts: attempt,
                    first_at_us,
                    next_at_us: now().unix_micros().saturating_add(wait_us),
                },
            );
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_100ms_then_exponential_up_to_an_hour() {
        let p = RetryPolicy::default();
        let s = |n| p.base_delay(n).as_secs();
        assert_eq!(
            [s(1), s(2), s(3), s(4), s(5), s(6)],
            [1, 3, 10, 30, 60, 120]
        );
        assert_eq!(s(30), 3600);
        assert_eq!(p.base_delay(u32::MAX).as_secs(), 3600);
        // Enough attempts to fill 24 h, then it gives up.
        let total: u64 = (1..=40).map(|n| p.base_delay(n).as_secs()).sum();
        assert!(total > 24 * 3600);
        for n in 1..10 {
            let d = p.delay(n).as_secs_f64();
            let b = p.base_delay(n).as_secs_f64();
            assert!(d >= b * 0.8 - 1e-9 && d <= b * 1.2 + 1e-9);
        }
    }
}
