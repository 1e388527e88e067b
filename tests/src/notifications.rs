//! What an SDK client (WebRTC or QUIC) has been told: its event channel and
//! the events already seen, so a test can wait for one notification without
//! losing the others.

use std::time::Duration;

use caucus_sdk::Event;
use serde_json::Value;
use tokio::sync::mpsc;

/// How long [`Notifications::notified`] and [`Notifications::closed`] wait.
const WAIT: Duration = Duration::from_secs(10);

/// A client's events, and those seen so far.
#[derive(Debug)]
pub struct Notifications {
    events: mpsc::Receiver<Event>,
    seen: Vec<Event>,
}

impl Notifications {
    pub fn new(events: mpsc::Receiver<Event>) -> Self {
        Self {
            events,
            seen: Vec::new(),
        }
    }

    /// Waits (≤ 10 s) for a notification `method` whose params satisfy `f`;
    /// one seen earlier counts.
    pub async fn notified(&mut self, method: &str, f: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find_map(|e| match e {
            Event::Notification { method: m, params } if m == method && f(params) => {
                Some(params.clone())
            }
            _ => None,
        }) {
            return v;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no matching {method} within {WAIT:?}; saw {:?}; {method} params: {:?}",
                        self.methods(),
                        self.params_of(method)
                    )
                })
                .unwrap_or_else(|| panic!("events ended before {method}"));
            let hit = matches!(&ev, Event::Notification { method: m, params } if m == method && f(params));
            self.seen.push(ev.clone());
            if let (true, Event::Notification { params, .. }) = (hit, ev) {
                return params;
            }
        }
    }

    /// Waits (≤ 10 s) for the signalling to close; returns the reason.
    pub async fn closed(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::Closed { reason })) => return reason,
                Ok(Some(ev)) => self.seen.push(ev),
                Ok(None) => return "events ended".into(),
                Err(_) => panic!("socket not closed within {WAIT:?}"),
            }
        }
    }

    /// The methods of the notifications seen so far, in order.
    pub fn methods(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                Event::Notification { method, .. } => Some(method.clone()),
                _ => None,
            })
            .collect()
    }

    /// The params of every `method` notification seen so far.
    pub fn params_of(&self, method: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                Event::Notification { method: m, params } if m == method => Some(params.clone()),
                _ => None,
            })
            .collect()
    }
}
