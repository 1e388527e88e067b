//! What a [`Client`](crate::Client) reports on its event channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use caucus_media::Target;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::messages::TrackKind;

/// One thing that happened to the client, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Every server notification, as received (`peer-list`, `on-peer-join`,
    /// `on-track-add`, `offer`, `trickle`, `on-peer-leave-request`, …). The
    /// client has already acted on the ones it handles itself (`offer`,
    /// `trickle`, `on-peer-leave-request`) when this is delivered.
    Notification { method: String, params: Value },
    /// A remote track appeared on the subscribe connection. `track_id` is
    /// the publisher's (its `a=msid`), the id `on-track-add` announced.
    TrackReceived {
        track_id: String,
        stream_id: String,
        kind: TrackKind,
    },
    /// The first RTP packet of a remote track arrived.
    FirstPacket { track_id: String, at: Instant },
    /// One of the two media connections changed state (`connected`,
    /// `failed`, `closed`, …: the W3C `RTCPeerConnectionState` names).
    ConnectionState { target: Target, state: String },
    /// The signalling socket closed: after [`Client::leave`](crate::Client::leave),
    /// removal (`on-peer-leave-request`), end of room, or a broken connection.
    /// The last event.
    Closed { reason: String },
}

/// The sending side of the event channel. Sending never blocks the client:
/// when the receiver is full the event is dropped and counted (see
/// [`Client::dropped_events`](crate::Client::dropped_events)); a reader that
/// keeps up loses nothing.
#[derive(Clone, Debug)]
pub(crate) struct EventSink {
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
}

impl EventSink {
    pub(crate) fn new(capacity: usize) -> (Self, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                tx,
                dropped: Arc::default(),
            },
            rx,
        )
    }

    pub(crate) fn emit(&self, event: Event) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(e)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(event = ?e, "event channel full: dropping an event");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
