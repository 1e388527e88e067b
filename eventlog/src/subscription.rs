//! Catch-up subscriptions over any [`EventLog`].
//!
//! A subscription pulls pages with `read_all(after = cursor)` and, once a read
//! comes back short, yields [`SubscriptionMessage::CaughtUp`] (once) and waits for
//! the log's head to move. History and live events come from the same reads, so
//! the handover has no gap and no duplicate; a slow consumer simply reads later
//! pages, so nothing is buffered without bound.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::ReadError;
use crate::log::EventLog;
use crate::types::{Position, RecordedEvent};

/// Which events a subscription delivers. The cursor still advances past the rest.
#[derive(Clone, Debug, Default)]
pub enum Filter {
    /// Every event (`$all`).
    #[default]
    All,
    /// One stream.
    Stream(crate::StreamName),
    /// Streams whose category (name before the first `-`) is this.
    Category(String),
    /// Events of these types.
    EventTypes(Vec<String>),
}

impl Filter {
    pub fn matches(&self, e: &RecordedEvent) -> bool {
        match self {
            Filter::All => true,
            Filter::Stream(s) => &e.stream == s,
            Filter::Category(c) => e.stream.category() == c,
            Filter::EventTypes(types) => types.iter().any(|t| t == &e.event_type),
        }
    }
}

/// What a subscription yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionMessage {
    Event(RecordedEvent),
    /// Everything committed when the subscription last looked has been delivered;
    /// what follows is live. Sent once per subscription.
    CaughtUp,
}

/// A catch-up subscription; see the module docs.
pub struct Subscription {
    log: Arc<dyn EventLog>,
    head: watch::Receiver<Option<Position>>,
    cursor: Option<Position>,
    filter: Filter,
    page: VecDeque<RecordedEvent>,
    page_size: usize,
    caught_up_sent: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("cursor", &self.cursor)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Default number of events fetched per read.
    pub const PAGE: usize = 1024;

    /// Subscribes to events after `after` (from the start when `None`).
    pub fn new(log: Arc<dyn EventLog>, after: Option<Position>, filter: Filter) -> Self {
        let head = log.head();
        Self {
            log,
            head,
            cursor: after,
            filter,
            page: VecDeque::new(),
            page_size: Self::PAGE,
            caught_up_sent: false,
        }
    }

    /// Sets how many events one read fetches.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The position of the last event handed out (or skipped by the filter).
    pub fn cursor(&self) -> Option<Position> {
        self.cursor
    }

    /// The next message. Waits while there is nothing new. Returns
    /// `Err(ReadError::Closed)` when the log shuts down.
    pub async fn next(&mut self) -> Result<SubscriptionMessage, ReadError> {
        loop {
            while let Some(event) = self.page.pop_front() {
                self.cursor = Some(event.position);
                if self.filter.matches(&event) {
                    return Ok(SubscriptionMessage::Event(event));
                }
            }
            // Mark the current head as seen before reading, so a commit that lands
            // after the read still wakes us.
            self.head.borrow_and_update();
            let events = self.log.read_all(self.cursor, self.page_size).await?;
            if !events.is_empty() {
                self.page.extend(events);
                continue;
            }
            if !self.caught_up_sent {
                self.caught_up_sent = true;
                return Ok(SubscriptionMessage::CaughtUp);
            }
            if self.head.changed().await.is_err() {
                return Err(ReadError::Closed);
            }
        }
    }
}
