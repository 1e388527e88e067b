//! The QUIC client (docs/quic-protocol.md): the same room protocol as the
//! WebRTC [`Client`](crate::Client), over a QUIC control stream, with media
//! as group streams.
//!
//! ```text
//! let (client, events) = QuicClient::join(JoinOptions::new(base, token)).await?;
//! // GET /init → quic url + certificate hash → connect (pinned, ALPN caucus/1)
//! // → control stream: hello → join → peer-list
//! let video = client.publish(TrackKind::Video).await?;   // publish {tracks} → group streams
//! client.track_stats("<remote track id>");               // counted per media-track alias
//! client.leave().await;
//! ```
//!
//! Layout: this module (join, requests, the control reader), `pin`
//! (certificate pinning), [`media`] (senders and the group reader).

pub mod media;
mod pin;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_transport_quic::ALPN;
use caucus_transport_quic::codec::{ControlDecoder, encode_message};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

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

/// A peer joined over QUIC.
#[derive(Debug)]
pub struct QuicClient {
    peer_id: String,
    conn: quinn::Connection,
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

/// Where `/init` says the QUIC endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicInit {
    pub addr: SocketAddr,
    pub certificate_sha256: String,
}

impl QuicInit {
    /// Reads `quic {url, certificate_sha256}` of an `/init` reply.
    pub fn from_init(raw: &Value) -> Result<Self, SdkError> {
        let q = raw
            .get("quic")
            .ok_or_else(|| SdkError::Protocol("/init has no quic endpoint".into()))?;
        let url = q.get("url").and_then(Value::as_str).unwrap_or_default();
        let addr = url
            .strip_prefix("quic://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .ok_or_else(|| SdkError::InvalidUrl {
                url: url.to_owned(),
                reason: "expected quic://<ip>:<port>".into(),
            })?;
        let certificate_sha256 = q
            .get("certificate_sha256")
            .and_then(Value::as_str)
            .ok_or_else(|| SdkError::Protocol("/init quic has no certificate_sha256".into()))?
            .to_owned();
        Ok(Self {
            addr,
            certificate_sha256,
        })
    }
}

/// A QUIC connection and its control stream.
pub type Connected = (
    quinn::Endpoint,
    quinn::Connection,
    quinn::SendStream,
    quinn::RecvStream,
);

/// Connects to a Caucus QUIC endpoint, pinning its certificate, and opens
/// the control stream. Loopback only: the client binds 127.0.0.1.
pub async fn connect(init: &QuicInit) -> Result<Connected, SdkError> {
    connect_alpn(init, ALPN).await
}

/// [`connect`] offering another ALPN (tests: a version the server does not
/// speak fails the handshake).
pub async fn connect_alpn(init: &QuicInit, alpn: &[u8]) -> Result<Connected, SdkError> {
    let quic = |e: &dyn std::fmt::Display| SdkError::Quic {
        code: None,
        reason: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| quic(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pin::Pinned::new(
            &init.certificate_sha256,
            provider,
        )))
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| quic(&e))?;
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().map_err(|e| quic(&e))?)
        .map_err(|e| quic(&e))?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let conn = endpoint
        .connect(init.addr, "localhost")
        .map_err(|e| quic(&e))?
        .await
        .map_err(|e| quic(&e))?;
    let (send, recv) = conn.open_bi().await.map_err(|e| quic(&e))?;
    Ok((endpoint, conn, send, recv))
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
        let peer_id = opts
            .peer_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let init = fetch_init(&opts, &peer_id).await?;
        let mut qinit = QuicInit::from_init(&init.raw)?;
        if let Some(via) = via {
            qinit.addr = via;
        }
        let (endpoint, conn, send, recv) = tokio::time::timeout(opts.timeout, connect(&qinit))
            .await
            .map_err(|_| SdkError::Timeout("the QUIC handshake"))??;
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

    /// The QUIC connection (tests send raw streams on it).
    pub fn connection(&self) -> &quinn::Connection {
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
        let datagrams = self.hello["datagrams"] == true && self.conn.max_datagram_size().is_some();
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
        self.conn.close(0u32.into(), b"left");
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

async fn write_control(mut send: quinn::SendStream, mut rx: mpsc::Receiver<String>) {
    while let Some(text) = rx.recv().await {
        let mut buf = Vec::with_capacity(text.len() + 8);
        if encode_message(&text, &mut buf).is_err() || send.write_all(&buf).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
}

async fn read_control(
    mut recv: quinn::RecvStream,
    conn: quinn::Connection,
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
    let reason = match conn.closed().await {
        quinn::ConnectionError::ApplicationClosed(c) => format!(
            "closed with code {:#x}: {}",
            c.error_code.into_inner(),
            String::from_utf8_lossy(&c.reason)
        ),
        e => e.to_string(),
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

/// The close code of a connection closed by the server, if it closed it.
pub fn close_code(e: &quinn::ConnectionError) -> Option<u64> {
    match e {
        quinn::ConnectionError::ApplicationClosed(c) => Some(c.error_code.into_inner()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_names_the_endpoint_and_its_certificate() {
        let raw = json!({ "quic": { "url": "quic://127.0.0.1:7882", "certificate_sha256": "ab" } });
        let q = QuicInit::from_init(&raw).unwrap();
        assert_eq!(q.addr, "127.0.0.1:7882".parse::<SocketAddr>().unwrap());
        assert_eq!(q.certificate_sha256, "ab");
        for bad in [
            json!({}),
            json!({ "quic": { "url": "https://x", "certificate_sha256": "ab" } }),
            json!({ "quic": { "url": "quic://127.0.0.1:1" } }),
        ] {
            assert!(QuicInit::from_init(&bad).is_err(), "{bad}");
        }
    }
}
