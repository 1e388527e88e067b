//! Shared by the router tests: an app over an in-memory log with two
//! workspaces, tokens, and request helpers.
#![allow(dead_code)]

pub mod hooked;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use caucus_api::auth::{self, AppGrant};
use caucus_api::{AppState, Metrics, Workspace, WorkspaceStore};
use caucus_eventlog::{EventLog, MemoryLog};
use caucus_projections::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub log: Arc<dyn EventLog>,
    pub a: Workspace,
    pub b: Workspace,
}

pub async fn app() -> TestApp {
    let log: Arc<dyn EventLog> = MemoryLog::new();
    let metrics = Metrics::new();
    let log = caucus_api::MeteredLog::wrap(log, metrics.clone());
    let engine = Engine::start(log.clone(), None).await.expect("engine");
    let a = Workspace::generate("a");
    let b = Workspace::generate("b");
    let store = Arc::new(WorkspaceStore::in_memory(vec![a.clone(), b.clone()]));
    let state = AppState::new(engine, store, metrics, None)
        .await
        .expect("state");
    TestApp { state, log, a, b }
}

pub fn now() -> i64 {
    auth::now_unix()
}

pub fn mgmt(ws: &Workspace) -> String {
    auth::mint_management(ws, now(), 3600).expect("mint")
}

pub fn app_token(ws: &Workspace, room: &str) -> String {
    let grant = AppGrant {
        room_id: room.into(),
        role: "host".into(),
        user_id: "u".into(),
    };
    auth::mint_app(ws, grant, now(), 3600).expect("mint")
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the documented error body for `status`.
    pub fn assert_error(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        let v = self.json();
        assert_eq!(v["code"], status, "body: {}", self.text);
        assert!(v["message"].is_string(), "body: {}", self.text);
        assert!(v["details"].is_array(), "body: {}", self.text);
        v
    }

    pub fn ok(&self) -> Value {
        assert!(self.status.is_success(), "{}: {}", self.status, self.text);
        self.json()
    }
}

impl TestApp {
    pub fn router(&self) -> Router {
        caucus_api::app(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        let t = mgmt(&self.a);
        self.call(Method::GET, path, Some(&t), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        let t = mgmt(&self.a);
        self.call(Method::POST, path, Some(&t), Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        let t = mgmt(&self.a);
        self.call(Method::DELETE, path, Some(&t), None).await
    }

    /// How many events the log holds.
    pub async fn events(&self) -> usize {
        self.log
            .read_all(None, usize::MAX)
            .await
            .expect("read")
            .len()
    }

    /// Creates a room (and the default template) in workspace a.
    pub async fn room(&self, name: &str) -> Value {
        self.post("/v2/rooms", serde_json::json!({ "name": name }))
            .await
            .ok()
    }
}

/// base64url without padding, for hand-built tokens.
pub fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Joins a peer through the executor, as signalling will, and waits for the
/// projections. Returns the peer id.
pub async fn join(app: &TestApp, room_id: &str, role: &str, user: &str) -> String {
    use caucus_domain::room::JoinPeer;
    use caucus_domain::{PeerId, RoleName, SessionId, UserId};
    let peer = uuid::Uuid::new_v4().to_string();
    let session = app.state.new_id();
    let cmd = JoinPeer {
        peer_id: PeerId::new(peer.clone()).unwrap(),
        user_id: UserId::new(user).unwrap(),
        name: format!("{user}-name"),
        metadata: "{}".into(),
        role: RoleName::new(role).unwrap(),
        session_id: SessionId::new(session).unwrap(),
        roles: None,
        at: app.state.now(),
    };
    let done = app
        .state
        .engine()
        .rooms
        .execute(room_id, cmd.into(), caucus_eventlog::Metadata::default())
        .await
        .expect("join");
    let pos = done.outcome.expect("appended").last_position;
    app.state.engine().live.wait_for(pos).await.unwrap();
    app.state.engine().history.wait_for(pos).await.unwrap();
    peer
}

/// Publishes an audio track for a peer.
pub async fn publish_audio(app: &TestApp, room_id: &str, peer: &str) -> String {
    use caucus_domain::room::{PublishTrack, TrackKind, TrackSource};
    use caucus_domain::{PeerId, StreamId, TrackId};
    let track = uuid::Uuid::new_v4().to_string();
    let cmd = PublishTrack {
        peer_id: PeerId::new(peer).unwrap(),
        track_id: TrackId::new(track.clone()).unwrap(),
        stream_id: StreamId::new("stream-1").unwrap(),
        kind: TrackKind::Audio,
        source: TrackSource::Regular,
        muted: false,
        description: "mic".into(),
        at: app.state.now(),
    };
    let done = app
        .state
        .engine()
        .rooms
        .execute(room_id, cmd.into(), caucus_eventlog::Metadata::default())
        .await
        .expect("publish");
    let pos = done.outcome.expect("appended").last_position;
    app.state.engine().live.wait_for(pos).await.unwrap();
    track
}
