//! [`MemoryLog`]: a store that keeps everything in memory and loses it on drop.
//!
//! For tests of code built on the log (projections, the executor) and as the
//! reference the conformance suite is checked against. It follows the whole
//! contract except durability.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{AppendError, ReadError};
use crate::log::EventLog;
use crate::rules::{self, Limits, Plan};
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

/// An in-memory [`EventLog`]; see the module docs.
#[derive(Debug)]
pub struct MemoryLog {
    inner: Mutex<Inner>,
    head: watch::Sender<Option<Position>>,
    limits: Limits,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<RecordedEvent>,
    streams: HashMap<StreamName, Vec<u64>>,
    ids: HashMap<Uuid, u64>,
    checkpoints: HashMap<String, Position>,
}

impl MemoryLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            head: watch::channel(None).0,
            limits: Limits::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data: every mutation
        // below is complete before the guard drops.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

#[async_trait]
impl EventLog for MemoryLog {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        rules::validate_batch(&events, &self.limits)?;
        let mut inner = self.lock();
        let current = inner
            .streams
            .get(stream)
            .and_then(|r| r.len().checked_sub(1))
            .map(|r| r as u64);
        let stored: Vec<Option<RecordedEvent>> = events
            .iter()
            .map(|e| {
                inner
                    .ids
                    .get(&e.event_id)
                    .map(|&p| inner.events[p as usize].clone())
            })
            .collect();
        let first_revision = match rules::plan_append(stream, expected, current, &events, &stored)?
        {
            Plan::AlreadyAppended(outcome) => return Ok(outcome),
            Plan::Append { first_revision } => first_revision,
        };
        let first_position = inner.events.len() as u64;
        let recorded_at_us = now_us();
        let n = events.len() as u64;
        for (i, e) in events.into_iter().enumerate() {
            let position = first_position + i as u64;
            inner.ids.insert(e.event_id, position);
            inner
                .streams
                .entry(stream.clone())
                .or_default()
                .push(position);
            inner.events.push(RecordedEvent {
                event_id: e.event_id,
                stream: stream.clone(),
                revision: first_revision + i as u64,
                position: Position(position),
                event_type: e.event_type,
                schema_version: e.schema_version,
                codec: e.codec,
                payload: e.payload,
                metadata: e.metadata,
                recorded_at_us,
            });
        }
        drop(inner);
        let last = Position(first_position + n - 1);
        self.head.send_replace(Some(last));
        Ok(AppendOutcome {
            first_revision,
            last_revision: first_revision + n - 1,
            first_position: Position(first_position),
            last_position: last,
            already_appended: false,
        })
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let inner = self.lock();
        let Some(positions) = inner.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let from = usize::try_from(from_revision)
            .unwrap_or(usize::MAX)
            .min(positions.len());
        Ok(positions[from..]
            .iter()
            .take(max)
            .map(|&p| inner.events[p as usize].clone())
            .collect())
    }

    async fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        let inner = self.lock();
        let from = after.map_or(0, |p| p.0.saturating_add(1));
        let from = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(inner.events.len());
        Ok(inner.events[from..].iter().take(max).cloned().collect())
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, ReadError> {
        let inner = self.lock();
        Ok(inner
            .streams
            .get(stream)
            .and_then(|r| r.len().checked_sub(1))
            .map(|r| r as u64))
    }

    fn head(&self) -> watch::Receiver<Option<Position>> {
        self.head.subscribe()
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Option<Position>, ReadError> {
        Ok(self.lock().checkpoints.get(consumer).copied())
    }

    async fn checkpoints(&self) -> Result<Vec<(String, Position)>, ReadError> {
        let mut all: Vec<_> = self
            .lock()
            .checkpoints
            .iter()
            .map(|(name, p)| (name.clone(), *p))
            .collect();
        all.sort();
        Ok(all)
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), AppendError> {
        self.lock()
            .checkpoints
            .insert(consumer.to_owned(), position);
        Ok(())
    }
}
