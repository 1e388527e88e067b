//! Signalling: `GET /init` and the WebSocket of the 100ms client protocol
//! (docs/signalling.md).
//!
//! - [`rpc`]: JSON-RPC framing; [`wire`]: payload shapes from room state;
//!   [`requests`]: client requests → room commands; [`notify`]: room events →
//!   notifications (all pure).
//! - [`hub`]: one log consumer per server folding room events into per-room
//!   state, fanning notifications out to the room's sockets, and keeping the
//!   media transport's forwarding plan equal to what the log says.
//! - [`session`]: one task per link: requests in, replies and notifications
//!   out, media events from the transport, the reconnect grace period. A
//!   [`link::Link`] is the WebSocket or a QUIC control stream ([`quic`]: its
//!   `hello`); both run the same session.

pub mod demo;
pub mod hub;
pub mod link;
pub mod notify;
pub mod quic;
pub mod requests;
pub mod rpc;
pub mod session;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use caucus_domain::room::command::LeavePeer;
use caucus_domain::room::model::LeaveReason;
use caucus_domain::{PeerId, RoleName, RoomId, RoomState, UserId};
use caucus_media::Transport;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::oneshot;
use tower_http::cors::CorsLayer;

use crate::auth::{self, TokenType};
use crate::state::AppState;

use self::hub::Hub;
use self::session::Flavor;

/// Signalling settings.
#[derive(Clone, Debug)]
pub struct SignalConfig {
    /// How long a peer whose socket or media connection dropped is kept
    /// (100ms: 60 s).
    pub grace: Duration,
    /// A socket silent this long is closed.
    pub idle: Duration,
    /// The WebSocket URL `/init` hands out; `None`: `ws://<Host>/ws`.
    pub public_ws_url: Option<String>,
    /// The QUIC endpoint `/init` hands out, when QUIC is served.
    pub quic: Option<QuicEndpoint>,
}

/// Where QUIC clients connect (docs/quic-protocol.md §1).
#[derive(Clone, Debug)]
pub struct QuicEndpoint {
    /// `quic://host:port`.
    pub url: String,
    /// Lowercase hex SHA-256 of the server's current DER certificate
    /// (it changes when the certificate is rotated).
    pub certificate_sha256: tokio::sync::watch::Receiver<String>,
    /// Whether the endpoint takes and sends audio datagrams (`hello` says).
    pub datagrams: bool,
    /// `https://host:port/wt`: the WebTransport session URL on the same
    /// port, when the endpoint serves WebTransport.
    pub webtransport: Option<String>,
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            idle: Duration::from_secs(30),
            public_ws_url: None,
            quic: None,
        }
    }
}

/// Why a socket or `/init` was refused before any JSON-RPC.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    #[error("Token validation error: {0}")]
    Token(#[from] auth::AuthError),
    #[error("{0}")]
    Forbidden(String),
}

impl AdmitError {
    /// HTTP status of `/init`.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Token(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }
    /// WebSocket close code.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Token(_) => 4401,
            Self::Forbidden(_) => 4403,
        }
    }
}

/// Who a verified app token admits.
#[derive(Clone, Debug)]
pub struct Admission {
    pub room: RoomId,
    pub role: RoleName,
    pub user: UserId,
    pub state: Arc<RoomState>,
}

/// The signalling service; one per server.
#[derive(Debug)]
pub struct Signalling {
    state: AppState,
    hub: Arc<Hub>,
    transport: Arc<dyn Transport>,
    quic: Option<Arc<dyn Transport>>,
    config: SignalConfig,
    presence: Mutex<HashMap<PeerId, Presence>>,
    generation: AtomicU64,
}

#[derive(Debug)]
struct Presence {
    generation: u64,
    /// Closes the peer's current socket (a newer socket replaces it).
    kick: Option<oneshot::Sender<()>>,
}

impl Signalling {
    /// Starts the hub on the engine's log. Peers the log shows joined (after
    /// a restart) get the grace period to reconnect.
    pub async fn start(
        state: AppState,
        transport: Arc<dyn Transport>,
        config: SignalConfig,
    ) -> Result<Arc<Self>, String> {
        Self::start_with_quic(state, transport, None, config).await
    }

    /// [`start`](Self::start) with a second, QUIC, transport whose control
    /// streams are served by [`quic::serve`].
    pub async fn start_with_quic(
        state: AppState,
        transport: Arc<dyn Transport>,
        quic: Option<Arc<dyn Transport>>,
        config: SignalConfig,
    ) -> Result<Arc<Self>, String> {
        let mut all = vec![transport.clone()];
        all.extend(quic.clone());
        let (hub, occupied) = Hub::start(state.engine().log.clone(), all).await?;
        let sig = Arc::new(Self {
            state,
            hub,
            transport,
            quic,
            config,
            presence: Mutex::default(),
            generation: AtomicU64::new(1),
        });
        for (room, s) in occupied {
            for peer in s.peers.keys() {
                let g = sig.register(peer, None);
                sig.clone().start_grace(
                    room.clone(),
                    peer.clone(),
                    g,
                    LeaveReason::WebsocketClosed,
                );
            }
        }
        Ok(sig)
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The routes: `/init` (with CORS, as browsers on other origins call it),
    /// `/ws`, and the `/demo` page.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/init", get(init))
            .layer(CorsLayer::permissive())
            .route("/ws", get(ws))
            .with_state(self.clone())
            .merge(demo::router())
    }

    /// Verifies an app token and the room and role it names.
    pub fn admit(&self, token: &str) -> Result<Admission, AdmitError> {
        let (claims, ws) = auth::verify(
            token,
            self.state.workspaces(),
            TokenType::App,
            auth::now_unix(),
        )?;
        let forbidden = |m: &str| AdmitError::Forbidden(m.to_owned());
        let room = claims
            .room_id
            .as_deref()
            .and_then(|r| RoomId::parse_str(r).ok())
            .ok_or_else(|| forbidden("the token's room does not exist"))?;
        let state = self
            .hub
            .room(&room)
            .map(|(_, s)| s)
            .filter(|s| {
                s.room
                    .as_ref()
                    .is_some_and(|r| r.workspace_id.as_str() == ws.id.as_str())
            })
            .ok_or_else(|| forbidden("the token's room does not exist"))?;
        if !state.room.as_ref().is_some_and(|r| r.enabled) {
            return Err(forbidden("the room is disabled"));
        }
        let role = claims
            .role
            .as_deref()
            .and_then(|r| RoleName::parse_str(r).ok())
            .filter(|r| state.role(r).is_some())
            .ok_or_else(|| forbidden("the token's role is not a role of the room"))?;
        let user = claims
            .user_id
            .as_deref()
            .filter(|u| !u.is_empty())
            .and_then(|u| UserId::parse_str(u).ok())
            .or_else(|| UserId::parse_str(&claims.jti).ok())
            .ok_or_else(|| forbidden("the token has no usable user_id"))?;
        Ok(Admission {
            room,
            role,
            user,
            state,
        })
    }

    /// Records a new socket of `peer`, closing the previous one; returns the
    /// socket's generation.
    fn register(&self, peer: &PeerId, kick: Option<oneshot::Sender<()>>) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let mut map = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = map.insert(peer.clone(), Presence { generation, kick })
            && let Some(k) = old.kick
        {
            let _ = k.send(());
        }
        generation
    }

    /// Whether `generation` is still the peer's latest socket.
    fn current(&self, peer: &PeerId, generation: u64) -> bool {
        let map = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        map.get(peer).is_some_and(|p| p.generation == generation)
    }

    fn forget(&self, peer: &PeerId, generation: u64) {
        let mut map = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(peer).is_some_and(|p| p.generation == generation) {
            map.remove(peer);
        }
    }

    /// Ends the peer's media session on whichever transport holds it.
    async fn detach_everywhere(&self, peer: &PeerId) {
        self.transport.detach(peer).await;
        if let Some(q) = &self.quic {
            q.detach(peer).await;
        }
    }

    /// After the grace period, unless a newer socket took over, the peer
    /// leaves with `reason` and its media session ends.
    fn start_grace(
        self: Arc<Self>,
        room: RoomId,
        peer: PeerId,
        generation: u64,
        reason: LeaveReason,
    ) {
        tokio::spawn(async move {
            tokio::time::sleep(self.config.grace).await;
            if !self.current(&peer, generation) {
                return;
            }
            self.forget(&peer, generation);
            self.detach_everywhere(&peer).await;
            let joined = self
                .hub
                .room(&room)
                .is_some_and(|(_, s)| s.peers.contains_key(&peer));
            if joined {
                let cmd = LeavePeer {
                    peer_id: peer.clone(),
                    reason,
                    at: self.state.now(),
                };
                if let Err(e) = session::execute(&self.state, &room, "server", cmd.into()).await {
                    tracing::warn!(%peer, error = %e.message, "grace-period leave failed");
                }
            }
        });
    }
}

#[derive(Deserialize)]
struct InitQuery {
    #[allow(dead_code)]
    peer_id: Option<String>,
}

fn refusal(e: &AdmitError) -> Response {
    let status = e.status();
    (
        status,
        axum::Json(json!({ "code": status.as_u16(), "message": e.to_string() })),
    )
        .into_response()
}

async fn init(
    State(sig): State<Arc<Signalling>>,
    Query(_q): Query<InitQuery>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return refusal(&AdmitError::Token(auth::AuthError::Missing));
    };
    let adm = match sig.admit(token) {
        Ok(a) => a,
        Err(e) => return refusal(&e),
    };
    let endpoint = sig.config.public_ws_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("ws://{host}/ws")
    });
    let mut body = json!({
        "endpoint": endpoint,
        "log_level": "INFO",
        "policy": wire::policy(&adm.state, &adm.role),
        "rtcConfiguration": { "iceServers": [] },
        "pingTimeout": sig.config.idle.as_millis() as u64,
        "config": {
            "enabledFlags": ["simulcast", "disableVideoTrackAutoUnsubscribe"],
            "networkHealth": { "url": "", "timeout": 0, "scoreMap": {} },
        },
    });
    if let Some(q) = &sig.config.quic {
        let hash = q.certificate_sha256.borrow().clone();
        body["quic"] = json!({ "url": q.url, "certificate_sha256": hash });
        if let Some(wt) = &q.webtransport {
            body["quic"]["webtransport"] = json!(wt);
        }
    }
    axum::Json(body).into_response()
}

#[derive(Deserialize)]
struct WsQuery {
    peer: Option<String>,
    token: Option<String>,
}

/// Largest accepted frame or message, in bytes.
pub const MAX_FRAME: usize = 1 << 20;

async fn ws(
    State(sig): State<Arc<Signalling>>,
    Query(q): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let admitted = match (q.token.as_deref(), q.peer.as_deref()) {
        (Some(t), Some(p)) => match PeerId::parse_str(p) {
            Ok(peer) => sig.admit(t).map(|a| (a, peer)),
            Err(e) => Err(AdmitError::Forbidden(format!("peer: {e}"))),
        },
        (None, _) => Err(AdmitError::Token(auth::AuthError::Missing)),
        (_, None) => Err(AdmitError::Forbidden(
            "the peer query parameter is required".into(),
        )),
    };
    upgrade
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            match admitted {
                Ok((adm, peer)) => {
                    let transport = sig.transport.clone();
                    let mut link = link::WsLink(socket);
                    session::run(sig, &mut link, transport, Flavor::WebSocket, adm, peer).await;
                }
                Err(e) => session::refuse(socket, &e).await,
            }
        })
}
