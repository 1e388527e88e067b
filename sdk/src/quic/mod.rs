//! The QUIC client (docs/quic-protocol.md): the same room protocol as the
//! WebRTC [`Client`](crate::Client), over a QUIC control stream, with media
//! as group streams.
//!
//! ```text
//! let (client, events) = QuicClient::join(JoinOptions::new(base, token)).await?;
//! // GET /init → quic url + certificate hash → connect (pinned, ALPN caucus/1,
//! // or a WebTransport session: QuicClient::join_dial(opts, None, Dial::WebTransport))
//! // → control stream: hello → join → peer-list
//! let video = client.publish(TrackKind::Video).await?;   // publish {tracks} → group streams
//! client.track_stats("<remote track id>");               // counted per media-track alias
//! client.leave().await;
//! ```
//!
//! Layout: this module (join, requests, the control reader), [`dial`]
//! (`/init`'s endpoint, native or WebTransport sessions), `pin`
//! (certificate pinning), [`media`] (senders and the group reader).

pub mod dial;
pub mod media;
mod pin;

pub use dial::{
    Connected, Dial, QuicInit, close_code, connect, connect_alpn, connect_webtransport,
    session_close,
};

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_transport_quic::codec::{ControlDecoder, encode_message};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use web_transport_quinn::{RecvStream, SendStream, Session};

use self::media::{FrameShape, QuicTrackStats, Received, Sender, SharedReceived, lock};
use crate::client::{JoinOptions, fetch_init};
use crate::error::{RpcError, SdkError};
use crate::events::{Event, EventSink};
use crate::messages::TrackKind;
use crate::rpc::{self, Incoming, Outcome};

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>;

/// A track this client publishes.
#[derive(Debug)]
struct Published {
    id: String,
    stream_id: String,
    muted: bool,
    sender: Sender,
}

/// A peer joined over QUIC, natively or in a WebTransport session.
#[derive(Debug)]
pub struct QuicClient {
    peer_id: String,
    conn: Session,
    endpoint: quinn::Endpoint,
    out: mpsc::Sender<String>,
    pending: Pending,
    next_id: AtomicU64,
    timeout: Duration,
    received: SharedReceived,
    published: Arc<Mutex<Vec<Published>>>,
    /// The `hello` reply.
    pub hello: Value,
}

impl QuicClient {
    /// `GET /init`, connect, `hello`, `join`. Events carry every
    /// notification, then `Closed`.
    pub async fn join(opts: JoinOptions) -> Result<(Self, mpsc::Receiver<Event>), SdkError> {
        Self::join_via(opts, None).await
    }

    /// [`join`](Self::join), connecting to `via` instead of the address
    /// `/init` names (tests: a lossy relay in front of the server; the
    /// certificate is still the one `/init` names).
    pub async fn join_via(
        opts: JoinOptions,
        via: Option<SocketAddr>,
    ) -> Result<(Self, mpsc::Receiver<Event>), SdkError> {
        Self::join_dial(opts, via, Dial::Native).await
    }

    /// [`join_via`](Self::join_via) over a native connection or a
    /// WebTransport session (what a browser does); the protocol inside is
    /// the same.
    pub async fn join_dial(
        opts: JoinOptions,
        via: Option<SocketAddr>,
        dial: Dial,
    ) -> Result<(Self, mpsc::Receiver<Event>), SdkError> {
        let peer_id = opts
            .peer_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let init = fetch_init(&opts, &peer_id).await?;
        let mut qinit = QuicInit::from_init(&init.raw)?;
        if let Some(via) = via {
            qinit.addr = via;
        }
        let (endpoint, conn) = tokio::time::timeout(opts.timeout, dial::open(&qinit, dial))
            .await
            .map_err(|_| SdkError::Timeout("the QUIC handshake"))??;
        let (send, recv) = conn.open_bi().await.map_err(|e| SdkError::Quic {
            code: None,
            reason: e.to_string(),
        })?;
        let (events, events_rx) = EventSink::new(opts.event_capacity);
        let (out, out_rx) = mpsc::channel(256);
        let pending: Pending = Arc::default();
        let received: SharedReceived = Arc::new(Mutex::new(Received::default()));
        let published: Arc<Mutex<Vec<Published>>> = Arc::default();
        tokio::spawn(write_control(send, out_rx));
        tokio::spawn(read_control(
            recv,
            conn.clone(),
            pending.clone(),
            events.clone(),
            received.clone(),
            published.clone(),
        ));
        tokio::spawn(media::receive(conn.clone(), received.clone()));
        let mut client = Self {
            peer_id: peer_id.clone(),
            conn,
            endpoint,
            out,
            pending,
            next_id: AtomicU64::new(1),
            timeout: opts.timeout,
            received,
            published,
            hello: Value::Null,
        };
        let hello =
            json!({ "protocol": "caucus", "version": 1, "token": opts.token, "peer": peer_id });
        client.hello = client.call("hello", hello).await?;
        client
            .call("join", json!({ "name": opts.name, "data": opts.metadata }))
            .await?;
        let out = client.out.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3));
            for n in 0u64.. {
                tick.tick().await;
                // Its reply matches no pending request and is dropped.
                let ping = rpc::request(&format!("ping-{n}"), "ping", &json!({ "timestamp": n }));
                if out.send(ping).await.is_err() {
                    return;
                }
            }
        });
        Ok((client, events_rx))
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// The QUIC connection (tests send raw streams on it; inside
    /// WebTransport use [`session`](Self::session), which adds the
    /// WebTransport stream prefixes).
    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// The session (native or WebTransport) the client runs on.
    pub fn session(&self) -> &Session {
        &self.conn
    }

    /// Sends a JSON-RPC request and waits for its reply.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let closed = |reason: &str| RpcError::Closed {
            method: method.to_owned(),
            reason: reason.to_owned(),
        };
        if self
            .out
            .send(rpc::request(&id, method, &params))
            .await
            .is_err()
        {
            return Err(closed("the control stream is closed"));
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Err(_) => Err(RpcError::Timeout {
                method: method.to_owned(),
                millis: self.timeout.as_millis() as u64,
            }),
            Ok(Err(_)) => Err(closed("the connection closed")),
            Ok(Ok(outcome)) => outcome.into_result(method),
        }
    }

    /// Sends a raw control text (tests: malformed or unknown messages).
    pub async fn send_raw(&self, text: String) -> bool {
        self.out.send(text).await.is_ok()
    }

    /// Publishes a synthetic track (`publish` with every track of this
    /// client) and starts sending its frames; returns its track id.
    pub async fn publish(&self, kind: TrackKind) -> Result<String, SdkError> {
        self.publish_shaped(kind, FrameShape::default_for(kind))
            .await
    }

    /// [`publish`](Self::publish) with frames of another pace and size
    /// (benchmarks).
    pub async fn publish_shaped(
        &self,
        kind: TrackKind,
        shape: FrameShape,
    ) -> Result<String, SdkError> {
        let id = uuid::Uuid::new_v4().to_string();
        let stream_id = {
            let p = self.published.lock().unwrap_or_else(|p| p.into_inner());
            p.first()
                .map(|t| t.stream_id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
        };
        let alias = {
            let p = self.published.lock().unwrap_or_else(|p| p.into_inner());
            p.iter().map(|t| t.sender.alias + 1).max().unwrap_or(0)
        };
        let mut tracks = self.track_map();
        tracks.insert(id.clone(), track_json(&id, &stream_id, kind, false, alias));
        self.call("publish", json!({ "tracks": tracks })).await?;
        let datagrams = self.hello["datagrams"] == true && self.conn.max_datagram_size() > 0;
        let sender = Sender::spawn(self.conn.clone(), alias, kind, shape, datagrams);
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Published {
                id: id.clone(),
                stream_id,
                muted: false,
                sender,
            });
        Ok(id)
    }

    /// Mutes or unmutes a published track (`track-update`). Frames keep
    /// being sent: the server stops forwarding them.
    pub async fn set_muted(&self, track_id: &str, muted: bool) -> Result<(), SdkError> {
        let state = {
            let mut p = self.published.lock().unwrap_or_else(|p| p.into_inner());
            let t = p
                .iter_mut()
                .find(|t| t.id == track_id)
                .ok_or_else(|| SdkError::UnknownTrack(track_id.to_owned()))?;
            t.muted = muted;
            track_json(&t.id, &t.stream_id, t.sender.kind, muted, t.sender.alias)
        };
        let msg = rpc::notification("track-update", &json!({ "tracks": { track_id: state } }));
        self.out
            .send(msg)
            .await
            .map_err(|_| SdkError::Closed("the control stream is closed".into()))
    }

    fn track_map(&self) -> BTreeMap<String, Value> {
        let p = self.published.lock().unwrap_or_else(|p| p.into_inner());
        p.iter()
            .map(|t| {
                (
                    t.id.clone(),
                    track_json(&t.id, &t.stream_id, t.sender.kind, t.muted, t.sender.alias),
                )
            })
            .collect()
    }

    /// Counters of a received track (by the publisher's track id).
    pub fn track_stats(&self, track_id: &str) -> Option<QuicTrackStats> {
        lock(&self.received).stats.get(track_id).cloned()
    }

    /// Received track ids the server announced (`media-track`).
    pub fn announced(&self) -> Vec<String> {
        lock(&self.received)
            .aliases
            .values()
            .map(|(id, _, _)| id.clone())
            .collect()
    }

    /// Sends `leave` and closes the connection.
    pub async fn leave(self) {
        let _ = self.out.send(rpc::notification("leave", &json!({}))).await;
        for t in self
            .published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            t.sender.stop.store(true, Ordering::Relaxed);
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.closed()).await;
        self.conn.close(0, b"left");
        self.endpoint.wait_idle().await;
    }
}

fn track_json(id: &str, stream_id: &str, kind: TrackKind, muted: bool, alias: u64) -> Value {
    let (codec, timescale) = match kind {
        TrackKind::Audio => ("opus", 48_000),
        TrackKind::Video => ("vp8", 90_000),
    };
    json!({
        "track_id": id, "stream_id": stream_id, "mute": muted, "type": kind,
        "source": "regular", "description": "", "alias": alias, "codec": codec,
        "timescale": timescale,
    })
}

async fn write_control(mut send: SendStream, mut rx: mpsc::Receiver<String>) {
    while let Some(text) = rx.recv().await {
        let mut buf = Vec::with_capacity(text.len() + 8);
        if encode_message(&text, &mut buf).is_err() || send.write_all(&buf).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
}

async fn read_control(
    mut recv: RecvStream,
    conn: Session,
    pending: Pending,
    events: EventSink,
    received: SharedReceived,
    published: Arc<Mutex<Vec<Published>>>,
) {
    let mut dec = ControlDecoder::new();
    'read: while let Ok(Some(chunk)) = recv.read_chunk(64 * 1024, true).await {
        dec.push(&chunk.bytes);
        loop {
            let text = match dec.next_message() {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(_) => break 'read,
            };
            match rpc::parse_incoming(&text) {
                Ok(Incoming::Reply { id, outcome }) => {
                    let tx = pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    if let Some(tx) = tx {
                        let _ = tx.send(outcome);
                    }
                }
                Ok(Incoming::Notification { method, params }) => {
                    on_notification(&method, &params, &received, &published);
                    events.emit(Event::Notification { method, params });
                }
                Err(_) => {}
            }
        }
    }
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let why = conn.closed().await;
    let reason = match session_close(&why) {
        Some((code, reason)) => format!("closed with code {code:#x}: {reason}"),
        None => why.to_string(),
    };
    events.emit(Event::Closed { reason });
}

fn on_notification(
    method: &str,
    params: &Value,
    received: &SharedReceived,
    published: &Arc<Mutex<Vec<Published>>>,
) {
    let alias = params.get("alias").and_then(Value::as_u64);
    match (method, alias) {
        ("media-track", Some(alias)) => {
            let id = params.get("track_id").and_then(Value::as_str);
            let kind = match params.get("kind").and_then(Value::as_str) {
                Some("video") => TrackKind::Video,
                _ => TrackKind::Audio,
            };
            let timescale = params
                .get("timescale")
                .and_then(Value::as_u64)
                .unwrap_or(90_000)
                .max(1);
            if let Some(id) = id {
                lock(received)
                    .aliases
                    .insert(alias, (id.to_owned(), kind, timescale));
            }
        }
        ("media-track-end", Some(alias)) => {
            lock(received).aliases.remove(&alias);
        }
        ("keyframe-request", Some(alias)) => {
            let p = published.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = p.iter().find(|t| t.sender.alias == alias) {
                t.sender.keyframe_wanted.store(true, Ordering::Relaxed);
            }
        }
        _ => {}
    }
}
