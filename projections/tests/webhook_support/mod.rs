//! Shared by the webhook delivery tests: a real HTTP receiver on 127.0.0.1
//! whose answers can be scripted, room event scripts with deterministic event
//! ids, the payloads a log should produce, and a fast retry configuration.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use caucus_domain::room::{
    LeaveReason, PeerJoined, PeerLeft, RoomCreated, RoomSettings, SessionCloseReason,
    SessionClosed, SessionOpened,
};
use caucus_domain::{DomainEvent, RoomEvent, Timestamp, WorkspaceId};
use caucus_eventlog::{Codec, EventLog, ExpectedRevision, Metadata, NewEvent, StreamName};
use caucus_projections::decode_event;
use caucus_projections::webhooks::context::RoomContext;
use caucus_projections::webhooks::{
    ClientConfig, DeliveryConfig, Payload, RetryPolicy, UrlPolicy, map,
};
use serde_json::Value;
use uuid::Uuid;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// 500 for the first `n` attempts of each webhook id, then 200.
    FailFirst(u32),
    AlwaysFail,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
    pub at: Instant,
    /// The status it answered.
    pub status: u16,
}

impl Received {
    pub fn room(&self) -> String {
        self.body["data"]["room_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    pub fn seq(&self) -> u64 {
        self.body["caucus"]["room_sequence"].as_u64().unwrap()
    }
    pub fn position(&self) -> u64 {
        self.body["caucus"]["log_position"].as_u64().unwrap()
    }
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    delay: Duration,
    tries: HashMap<String, u32>,
    received: Vec<Received>,
}

/// A receiver on 127.0.0.1.
#[derive(Clone, Debug)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = h("webhook-id");
    let delay = r.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut inner = r.lock();
    let tries = {
        let t = inner.tries.entry(id.clone()).or_default();
        *t += 1;
        *t
    };
    let status = match inner.mode {
        Mode::Ok => 200,
        Mode::FailFirst(n) if tries <= n => 500,
        Mode::FailFirst(_) => 200,
        Mode::AlwaysFail => 503,
    };
    inner.received.push(Received {
        id,
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        headers: headers.clone(),
        raw: body,
        at: Instant::now(),
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    pub async fn start(mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Self {
            url,
            inner: Arc::new(Mutex::new(Inner {
                mode,
                delay: Duration::ZERO,
                tries: HashMap::new(),
                received: Vec::new(),
            })),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Every request, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// The requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status < 300)
            .collect()
    }

    /// Waits until `done(accepted)` holds, or panics after `timeout`.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.accepted()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: condition not met in {timeout:?}; {} accepted, {} received",
                self.accepted().len(),
                self.received().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn workspace(n: u64) -> WorkspaceId {
    format!("{:024x}", 0xABC0 + n).parse().unwrap()
}

pub fn room_id(n: u64) -> String {
    format!("{:024x}", 0x1000 + n)
}

fn peer(room: u64, n: u64) -> caucus_domain::PeerId {
    format!("00000000-0000-4000-8000-{:06x}{:06x}", room, n)
        .parse()
        .unwrap()
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s)
}

/// A room's life: created, a session opened, `peers` join then leave, closed.
/// Gives `2 + 2 * peers` webhooks of the standard types.
pub fn room_script(ws: &WorkspaceId, room: u64, peers: u64) -> Vec<RoomEvent> {
    let session: caucus_domain::SessionId = format!("{:024x}", 0x2000 + room).parse().unwrap();
    let template: caucus_domain::TemplateId = format!("{:024x}", 0x7e).parse().unwrap();
    let mut events = vec![
        RoomEvent::RoomCreated(RoomCreated {
            room_id: room_id(room).parse().unwrap(),
            workspace_id: ws.clone(),
            name: format!("room-{room}"),
            description: String::new(),
            template_id: template.clone(),
            roles: Default::default(),
            settings: RoomSettings::default(),
            at: at(0),
        }),
        RoomEvent::SessionOpened(SessionOpened {
            session_id: session.clone(),
            template_id: template,
            roles: Default::default(),
            at: at(1),
        }),
    ];
    for p in 0..peers {
        events.push(RoomEvent::PeerJoined(PeerJoined {
            peer_id: peer(room, p),
            session_id: session.clone(),
            user_id: format!("user-{p}").parse().unwrap(),
            name: format!("Peer {p}"),
            metadata: String::new(),
            role: "host".parse().unwrap(),
            at: at(2 + p as i64),
        }));
    }
    for p in 0..peers {
        events.push(RoomEvent::PeerLeft(PeerLeft {
            peer_id: peer(room, p),
            session_id: session.clone(),
            reason: LeaveReason::ClientRequest,
            message: None,
            removed_by: None,
            at: at(100 + p as i64),
        }));
    }
    events.push(RoomEvent::SessionClosed(SessionClosed {
        session_id: session,
        reason: SessionCloseReason::LastPeerLeft,
        started_at: at(1),
        at: at(200),
    }));
    events
}

/// The deterministic id of a room's `revision`-th scripted event.
pub fn event_id(room: u64, revision: u64) -> Uuid {
    Uuid::from_u128(
        0xCA0C_0000_0000_0000_0000_0000_0000_0000 | (u128::from(room) << 32) | u128::from(revision),
    )
}

/// Appends one scripted event (idempotent: the id is deterministic).
pub async fn append_one(log: &dyn EventLog, room: u64, revision: u64, event: &RoomEvent) {
    let stream = StreamName::of("room", &room_id(room)).unwrap();
    let e = NewEvent {
        event_id: event_id(room, revision),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        codec: Codec::Bincode2,
        payload: event.encode(),
        metadata: Metadata::default(),
    };
    log.append(&stream, ExpectedRevision::Any, vec![e])
        .await
        .expect("append");
}

/// Appends whole scripts, one event per append.
pub async fn append_script(log: &dyn EventLog, room: u64, events: &[RoomEvent]) {
    for (i, e) in events.iter().enumerate() {
        append_one(log, room, i as u64, e).await;
    }
}

/// Every payload the log's room events map to, in position order.
pub async fn expected_payloads(log: &dyn EventLog) -> Vec<Payload> {
    let mut contexts: HashMap<String, RoomContext> = HashMap::new();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = log.read_all(after, 1000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        for e in &page {
            after = Some(e.position);
            if e.stream.category() != "room" {
                continue;
            }
            let event: RoomEvent = decode_event(e).unwrap();
            let ctx = contexts.entry(e.stream.to_string()).or_default();
            out.extend(map(ctx, e, &event));
            ctx.apply(&event);
        }
    }
}

/// Short retries for tests; private addresses allowed (the receiver is local).
pub fn fast_config(give_up_after: Duration) -> DeliveryConfig {
    DeliveryConfig {
        retry: RetryPolicy {
            delays: vec![
                Duration::from_millis(10),
                Duration::from_millis(20),
                Duration::from_millis(30),
            ],
            then_from: Duration::from_millis(40),
            max_delay: Duration::from_millis(80),
            jitter: 0.1,
            give_up_after,
        },
        client: ClientConfig {
            timeout: Duration::from_secs(2),
            max_response_bytes: 64 * 1024,
            policy: UrlPolicy {
                allow_private: true,
            },
        },
        max_concurrency: 32,
        max_in_flight: 10_000,
        tick: Duration::from_millis(20),
    }
}

/// An endpoint spec for `url` with every standard type.
pub fn spec(url: &str) -> caucus_projections::webhooks::EndpointSpec {
    caucus_projections::webhooks::EndpointSpec {
        url: Some(url.to_owned()),
        ..Default::default()
    }
}
