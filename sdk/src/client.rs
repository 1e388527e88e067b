//! [`Client`]: join a room, publish synthetic tracks, read what arrives, and
//! send any signalling request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_media::{SessionDescription, Target};
use rtc::data_channel::RTCDataChannelInit;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::DataChannel;

use crate::connection::{self, Conn};
use crate::error::{RpcError, SdkError};
use crate::events::{Event, EventSink};
use crate::messages::{self, InitReply, TrackKind, TrackSource, TrackState};
use crate::publish::{self, LocalTrack, SendControl, SendStats};
use crate::signal::Signal;
use crate::subscribe::{AnnouncedTrack, Remote, TrackStats};
use crate::synth::Synth;
use crate::synth::opus::OpusSynth;
use crate::synth::vp8::{Vp8Config, Vp8Synth};

/// How to join.
#[derive(Clone, Debug)]
pub struct JoinOptions {
    /// The server's HTTP base, e.g. `http://127.0.0.1:7880`.
    pub base_url: String,
    /// An app token (see `docs/api.md`).
    pub token: String,
    /// The peer id to join with; a fresh UUID v4 when `None`.
    pub peer_id: Option<String>,
    /// The display name (`join.name`).
    pub name: String,
    /// The peer metadata (`join.data`), usually a JSON string.
    pub metadata: String,
    /// How long each step (`/init`, the socket, `on-policy-change`, each
    /// request) may take.
    pub timeout: Duration,
    /// Capacity of the event channel (events beyond it are dropped, see
    /// [`Client::dropped_events`]).
    pub event_capacity: usize,
}

impl Default for JoinOptions {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            token: String::new(),
            peer_id: None,
            name: "caucus-sdk".into(),
            metadata: String::new(),
            timeout: Duration::from_secs(10),
            event_capacity: 4096,
        }
    }
}

impl JoinOptions {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: token.into(),
            ..Self::default()
        }
    }
}

/// A track to publish: its kind and source, whether it starts muted, and
/// the generator of its payloads.
pub struct PublishTrack {
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    pub synth: Box<dyn Synth>,
}

impl std::fmt::Debug for PublishTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishTrack")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .field("muted", &self.muted)
            .finish_non_exhaustive()
    }
}

impl PublishTrack {
    /// Opus-shaped audio, 20 ms frames.
    pub fn audio() -> Self {
        Self {
            kind: TrackKind::Audio,
            source: TrackSource::Regular,
            muted: false,
            synth: Box::new(OpusSynth::default()),
        }
    }

    /// VP8 video with the default shape ([`Vp8Config::default`]).
    pub fn video() -> Self {
        Self::video_with(Vp8Config::default())
    }

    pub fn video_with(cfg: Vp8Config) -> Self {
        Self {
            kind: TrackKind::Video,
            source: TrackSource::Regular,
            muted: false,
            synth: Box::new(Vp8Synth::new(cfg)),
        }
    }

    pub fn source(mut self, source: TrackSource) -> Self {
        self.source = source;
        self
    }

    pub fn muted(mut self, muted: bool) -> Self {
        self.muted = muted;
        self
    }
}

/// Where a `broadcast` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastTo {
    Everyone,
    Roles(Vec<String>),
    Peer(String),
}

/// A bulk mute/unmute (`change-track-mute-state-request`); `None` filters
/// are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackMuteFilter {
    pub requested_for: Option<String>,
    pub roles: Option<Vec<String>>,
    pub kind: Option<TrackKind>,
    pub source: Option<TrackSource>,
}

/// What the router and the background tasks share with the client.
pub(crate) struct Shared {
    pub(crate) peer_id: String,
    pub(crate) signal: Signal,
    pub(crate) publish: Conn,
    pub(crate) subscribe: Conn,
    pub(crate) remote: Arc<Remote>,
    pub(crate) events: EventSink,
    /// The published tracks; the lock also serialises publish renegotiations.
    published: tokio::sync::Mutex<Vec<LocalTrack>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    leave_reason: Mutex<Option<String>>,
    data_channels: Mutex<Vec<Arc<dyn DataChannel>>>,
    /// Whether the publish connection is connected (senders wait for it).
    pub(crate) publish_connected: watch::Sender<bool>,
    /// The latest `on-policy-change` (the room's roles).
    policy: Mutex<Value>,
}

impl Shared {
    pub(crate) fn add_task(&self, task: JoinHandle<()>) {
        if let Ok(mut t) = self.tasks.lock() {
            t.retain(|t| !t.is_finished());
            t.push(task);
        }
    }

    pub(crate) fn keep_data_channel(&self, dc: Arc<dyn DataChannel>) {
        if let Ok(mut d) = self.data_channels.lock() {
            d.push(dc);
        }
    }

    pub(crate) fn set_leave_reason(&self, reason: String) {
        if let Ok(mut r) = self.leave_reason.lock() {
            r.get_or_insert(reason);
        }
    }

    pub(crate) fn take_leave_reason(&self) -> Option<String> {
        self.leave_reason.lock().ok().and_then(|mut r| r.take())
    }

    pub(crate) async fn stop_senders(&self) {
        for t in self.published.lock().await.iter_mut() {
            if let Some(task) = t.task.take() {
                task.abort();
            }
        }
    }

    /// Keeps the latest `on-policy-change`.
    pub(crate) fn set_policy(&self, policy: Value) {
        if let Ok(mut p) = self.policy.lock() {
            *p = policy;
        }
    }

    /// What `role` may publish (`publishParams.allowed`), from the latest
    /// policy; `None` when the policy does not describe the role.
    pub(crate) fn allowed_to_publish(&self, role: &str) -> Option<Vec<String>> {
        let policy = self.policy.lock().ok()?;
        let allowed = policy
            .get("known_roles")?
            .get(role)?
            .pointer("/publishParams/allowed")?
            .as_array()?;
        Some(
            allowed
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        )
    }

    /// This peer's role changed to one that may publish only `allowed`: as
    /// the 100ms SDK does, stop and remove every own track it may not
    /// publish (the server has unpublished them already) and renegotiate.
    pub(crate) async fn drop_disallowed(&self, allowed: &[String]) -> Result<(), SdkError> {
        let mut published = self.published.lock().await;
        let before = published.len();
        let mut kept = Vec::with_capacity(before);
        for t in published.drain(..) {
            if allowed.iter().any(|a| a == t.state.publish_kind()) {
                kept.push(t);
            } else {
                let _ = self.publish.pc.remove_track(&t.sender).await;
            }
        }
        *published = kept;
        if published.len() == before {
            return Ok(());
        }
        self.renegotiate(&published).await
    }

    /// Sends `offer` with `tracks` on the publish connection and applies the
    /// answer.
    async fn renegotiate(&self, tracks: &[LocalTrack]) -> Result<(), SdkError> {
        let offer = local_offer(&self.publish).await?;
        let reply = self
            .signal
            .call(
                "offer",
                messages::offer_params(&offer, tracks.iter().map(|t| &t.state)),
            )
            .await?;
        let answer = messages::description(&reply, "answer")
            .ok_or_else(|| SdkError::Protocol(format!("the offer reply has no answer: {reply}")))?;
        self.publish
            .set_remote(connection::remote_description(&answer)?)
            .await
    }

    /// Stops every sender and closes both connections.
    pub(crate) async fn shutdown_media(&self) {
        self.published.lock().await.clear();
        let _ = self.publish.pc.close().await;
        let _ = self.subscribe.pc.close().await;
    }

    /// Follows the server's word on this peer's own tracks: an
    /// `on-track-update` naming them (a mute by another peer) stops or
    /// resumes their packets, so local state matches the room's.
    pub(crate) async fn sync_own_mutes(&self, states: Vec<TrackState>) {
        let mut published = self.published.lock().await;
        for s in states {
            if let Some(t) = published
                .iter_mut()
                .find(|t| t.state.track_id == s.track_id)
            {
                t.state.mute = s.mute;
                t.control.set_muted(s.mute);
            }
        }
    }

    /// Mutes one of our tracks because the server asked (`on-track-update-
    /// request {mute: true}`) and confirms with `track-update`.
    pub(crate) async fn mute_own_track(&self, track_id: &str) {
        let mut published = self.published.lock().await;
        let Some(t) = published.iter_mut().find(|t| t.state.track_id == track_id) else {
            return;
        };
        t.state.mute = true;
        t.control.set_muted(true);
        let params = messages::track_update_params(published.iter().map(|t| &t.state));
        if let Err(e) = self.signal.notify("track-update", &params) {
            tracing::debug!(error = %e, "could not confirm a remote mute");
        }
    }

    fn abort_tasks(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            for task in t.drain(..) {
                task.abort();
            }
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    peer_id: String,
    stream_ids: Mutex<HashMap<TrackSource, String>>,
    init: InitReply,
    policy: Value,
    join_reply: Value,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.abort_tasks();
    }
}

/// A joined peer. Cheap to clone; the connection ends when the last clone is
/// dropped (without `leave`: the server keeps the peer for its grace period)
/// or on [`Client::leave`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer_id", &self.inner.peer_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Joins a room: `GET /init`, the WebSocket, `on-policy-change`, `join`
    /// with the publish connection's offer, its answer applied. The
    /// subscribe connection follows the server's offers in the background.
    pub async fn join(opts: JoinOptions) -> Result<(Client, mpsc::Receiver<Event>), SdkError> {
        let peer_id = opts
            .peer_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let init = fetch_init(&opts, &peer_id).await?;
        let ws_url = ws_url(&init.endpoint, &peer_id, &opts.token)?;

        let (events, events_rx) = EventSink::new(opts.event_capacity);
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let publish = connection::build(Target::Publish, conn_tx.clone()).await?;
        let subscribe = connection::build(Target::Subscribe, conn_tx).await?;
        // The 100ms SDK opens this channel so the publish offer has an
        // application m-line even before any track is published.
        let api_channel = publish
            .pc
            .create_data_channel(
                "ion-sfu",
                Some(RTCDataChannelInit {
                    protocol: "SCTP".into(),
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| SdkError::webrtc("creating the ion-sfu data channel", e))?;

        let (signal, mut notifications) =
            tokio::time::timeout(opts.timeout, Signal::connect(&ws_url, opts.timeout))
                .await
                .map_err(|_| SdkError::Timeout("the signalling WebSocket"))??;

        // Wait for on-policy-change; anything before it is still reported.
        let mut early = Vec::new();
        let policy = tokio::time::timeout(opts.timeout, async {
            while let Some((method, params)) = notifications.recv().await {
                if method == "on-policy-change" {
                    early.push((method, params.clone()));
                    return Ok(params);
                }
                early.push((method, params));
            }
            let info = signal.closed().await;
            Err(SdkError::WebSocket {
                code: info.code,
                reason: format!("closed before on-policy-change: {}", info.reason),
            })
        })
        .await
        .map_err(|_| SdkError::Timeout("on-policy-change"))??;

        let shared = Arc::new(Shared {
            peer_id: peer_id.clone(),
            signal,
            publish,
            subscribe,
            remote: Arc::default(),
            events,
            published: tokio::sync::Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            leave_reason: Mutex::new(None),
            data_channels: Mutex::new(vec![api_channel]),
            publish_connected: watch::Sender::new(false),
            policy: Mutex::new(policy.clone()),
        });
        for (method, params) in early {
            shared.events.emit(Event::Notification { method, params });
        }
        let (joined_tx, joined_rx) = watch::channel(false);
        let router = tokio::spawn(crate::router::run(
            shared.clone(),
            notifications,
            conn_rx,
            joined_rx,
        ));
        shared.add_task(router);

        let result = join_room(&shared, &opts).await;
        let join_reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                shared.signal.close("join failed");
                shared.shutdown_media().await;
                shared.abort_tasks();
                return Err(e);
            }
        };
        let _ = joined_tx.send(true);
        shared.add_task(tokio::spawn(keep_alive(shared.clone())));

        let client = Client {
            inner: Arc::new(Inner {
                shared,
                peer_id,
                stream_ids: Mutex::new(HashMap::new()),
                init,
                policy,
                join_reply,
            }),
        };
        Ok((client, events_rx))
    }

    /// This peer's id.
    pub fn peer_id(&self) -> &str {
        &self.inner.peer_id
    }

    /// The `/init` reply.
    pub fn init(&self) -> &InitReply {
        &self.inner.init
    }

    /// The `on-policy-change` received before `join`.
    pub fn policy(&self) -> &Value {
        &self.inner.policy
    }

    /// The `join` result (`{type, sdp, sfu_node_id}`).
    pub fn join_reply(&self) -> &Value {
        &self.inner.join_reply
    }

    /// Whether the signalling socket has closed.
    pub fn is_closed(&self) -> bool {
        self.shared().signal.close_info().is_some()
    }

    /// Events dropped because the event channel was full.
    pub fn dropped_events(&self) -> u64 {
        self.shared().events.dropped()
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    // ---- requests ----

    /// Sends any request and waits for its result (tests send bad input
    /// with it).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.shared().signal.call(method, params).await
    }

    /// Sends any notification.
    pub fn notify(&self, method: &str, params: Value) -> Result<(), RpcError> {
        self.shared().signal.notify(method, &params)
    }

    /// Sends any text frame as is, JSON-RPC or not.
    pub fn send_raw(&self, text: impl Into<String>) -> Result<(), RpcError> {
        self.shared().signal.send_raw(text.into())
    }

    /// `role-change-request`: asks `peer` to take `role` (or changes it at
    /// once with `force`).
    pub async fn request_role_change(
        &self,
        peer: &str,
        role: &str,
        force: bool,
    ) -> Result<(), RpcError> {
        self.call(
            "role-change-request",
            json!({ "requested_for": peer, "role": role, "force": force }),
        )
        .await
        .map(drop)
    }

    /// `role-change`: accepts a request received as `on-role-change-request`.
    pub async fn accept_role_change(&self, token: &str, role: &str) -> Result<(), RpcError> {
        self.call("role-change", json!({ "token": token, "role": role }))
            .await
            .map(drop)
    }

    /// `track-update-request`: mutes another peer's track, or asks it to
    /// unmute.
    pub async fn request_track_mute(
        &self,
        peer: &str,
        track_id: &str,
        stream_id: &str,
        mute: bool,
    ) -> Result<(), RpcError> {
        self.call(
            "track-update-request",
            json!({ "requested_for": peer, "track_id": track_id, "stream_id": stream_id, "mute": mute }),
        )
        .await
        .map(drop)
    }

    /// `change-track-mute-state-request`: the bulk form.
    pub async fn change_track_mute_state(
        &self,
        filter: TrackMuteFilter,
        mute: bool,
    ) -> Result<(), RpcError> {
        let mut p = serde_json::Map::new();
        p.insert("value".into(), json!(mute));
        if let Some(peer) = filter.requested_for {
            p.insert("requested_for".into(), json!(peer));
        }
        if let Some(roles) = filter.roles {
            p.insert("roles".into(), json!(roles));
        }
        if let Some(kind) = filter.kind {
            p.insert("type".into(), json!(kind));
        }
        if let Some(source) = filter.source {
            p.insert("source".into(), json!(source));
        }
        self.call("change-track-mute-state-request", Value::Object(p))
            .await
            .map(drop)
    }

    /// `peer-leave-request`: removes another peer.
    pub async fn remove_peer(&self, peer: &str, reason: &str) -> Result<(), RpcError> {
        self.call(
            "peer-leave-request",
            json!({ "requested_for": peer, "reason": reason }),
        )
        .await
        .map(drop)
    }

    /// `end-room`: ends the session (and disables the room with `lock`).
    pub async fn end_room(&self, lock: bool, reason: &str) -> Result<(), RpcError> {
        self.call("end-room", json!({ "lock": lock, "reason": reason }))
            .await
            .map(drop)
    }

    /// `broadcast`; returns `{message_id, timestamp}`.
    pub async fn broadcast(
        &self,
        message: &str,
        kind: &str,
        to: BroadcastTo,
    ) -> Result<Value, RpcError> {
        let mut p = json!({ "info": { "message": message, "type": kind } });
        match to {
            BroadcastTo::Everyone => {}
            BroadcastTo::Roles(roles) => p["roles"] = json!(roles),
            BroadcastTo::Peer(peer) => p["peer_id"] = json!(peer),
        }
        self.call("broadcast", p).await
    }

    /// `peer-update`: changes this peer's name and/or metadata.
    pub async fn update_peer(
        &self,
        name: Option<&str>,
        data: Option<&str>,
    ) -> Result<(), RpcError> {
        let mut p = serde_json::Map::new();
        if let Some(name) = name {
            p.insert("name".into(), json!(name));
        }
        if let Some(data) = data {
            p.insert("data".into(), json!(data));
        }
        self.call("peer-update", Value::Object(p)).await.map(drop)
    }

    /// Sends `leave`, closes the socket and both connections. Waits (at most
    /// two seconds) for the server to close the socket, so
    /// [`Event::Closed`] is the last event delivered.
    pub async fn leave(&self) -> Result<(), SdkError> {
        let shared = self.shared();
        shared.set_leave_reason("left".into());
        let sent = shared
            .signal
            .notify("leave", &json!({ "client_reason": "user request" }));
        shared.stop_senders().await;
        shared.signal.close("leave");
        let _ = tokio::time::timeout(Duration::from_secs(2), shared.signal.closed()).await;
        shared.shutdown_media().await;
        sent.map_err(SdkError::from)
    }

    // ---- publishing ----

    /// Publishes an Opus-shaped audio track; returns its track id.
    pub async fn publish_audio(&self) -> Result<String, SdkError> {
        self.publish(PublishTrack::audio()).await
    }

    /// Publishes a VP8 video track; returns its track id.
    pub async fn publish_video(&self) -> Result<String, SdkError> {
        self.publish(PublishTrack::video()).await
    }

    /// Publishes a track: adds it to the publish connection, sends `offer`
    /// with every published track in `tracks`, applies the answer and starts
    /// sending. Returns the track id (also the `a=msid` track id).
    pub async fn publish(&self, spec: PublishTrack) -> Result<String, SdkError> {
        let shared = self.shared();
        if let Some(info) = shared.signal.close_info() {
            return Err(SdkError::Closed(info.to_string()));
        }
        let mut published = shared.published.lock().await;
        let track_id = uuid::Uuid::new_v4().to_string();
        let stream_id = self.stream_id(spec.source);
        let (track, sender, ssrc, mime) =
            publish::add_track(&shared.publish, spec.kind, &stream_id, &track_id).await?;
        let control = Arc::new(SendControl::default());
        control.set_muted(spec.muted);
        published.push(LocalTrack {
            state: TrackState {
                track_id: track_id.clone(),
                stream_id,
                mute: spec.muted,
                kind: spec.kind,
                source: spec.source,
                description: String::new(),
            },
            sender: sender.clone(),
            control: control.clone(),
            task: None,
        });
        if let Err(e) = self.renegotiate(&published).await {
            if let Some(t) = published.pop() {
                let _ = shared.publish.pc.remove_track(&t.sender).await;
            }
            return Err(e);
        }
        let task = publish::spawn_sender(
            track,
            sender,
            spec.synth,
            control,
            ssrc,
            mime,
            shared.publish_connected.subscribe(),
        );
        if let Some(t) = published.last_mut() {
            t.task = Some(task);
        }
        Ok(track_id)
    }

    /// Mutes or unmutes a published track: stops or resumes its packets and
    /// sends `track-update` with every published track.
    pub async fn set_muted(&self, track_id: &str, muted: bool) -> Result<(), SdkError> {
        let shared = self.shared();
        let mut published = shared.published.lock().await;
        let t = published
            .iter_mut()
            .find(|t| t.state.track_id == track_id)
            .ok_or_else(|| SdkError::UnknownTrack(track_id.to_owned()))?;
        t.state.mute = muted;
        t.control.set_muted(muted);
        let params = messages::track_update_params(published.iter().map(|t| &t.state));
        shared.signal.notify("track-update", &params)?;
        Ok(())
    }

    /// Unpublishes a track: stops it, removes it from the publish connection
    /// and renegotiates without it.
    pub async fn unpublish(&self, track_id: &str) -> Result<(), SdkError> {
        let shared = self.shared();
        let mut published = shared.published.lock().await;
        let at = published
            .iter()
            .position(|t| t.state.track_id == track_id)
            .ok_or_else(|| SdkError::UnknownTrack(track_id.to_owned()))?;
        let t = published.remove(at);
        shared
            .publish
            .pc
            .remove_track(&t.sender)
            .await
            .map_err(|e| SdkError::webrtc("removing a track", e))?;
        drop(t);
        self.renegotiate(&published).await
    }

    /// The tracks this client publishes, as it last told the server.
    pub async fn published_tracks(&self) -> Vec<TrackState> {
        let published = self.shared().published.lock().await;
        published.iter().map(|t| t.state.clone()).collect()
    }

    /// What a published track has sent.
    pub async fn send_stats(&self, track_id: &str) -> Option<SendStats> {
        let published = self.shared().published.lock().await;
        published
            .iter()
            .find(|t| t.state.track_id == track_id)
            .map(|t| t.control.stats())
    }

    // ---- subscribing ----

    /// What a remote track (by its publisher's track id) has received.
    pub fn remote_track_stats(&self, track_id: &str) -> Option<TrackStats> {
        self.shared().remote.stats(track_id)
    }

    /// Every remote track that appeared on the subscribe connection.
    pub fn remote_tracks(&self) -> Vec<TrackStats> {
        self.shared().remote.all_stats()
    }

    /// Every remote track the server announced (`peer-list`,
    /// `on-track-add`), whether or not its media arrived.
    pub fn announced_tracks(&self) -> Vec<AnnouncedTrack> {
        self.shared().remote.announced()
    }

    /// The description the publish connection last applied locally (e.g. to
    /// check its `a=msid` lines).
    pub async fn publish_local_sdp(&self) -> Option<String> {
        self.shared()
            .publish
            .pc
            .local_description()
            .await
            .map(|d| d.sdp)
    }

    /// The subscribe connection's current remote description (the server's
    /// last offer).
    pub async fn subscribe_remote_sdp(&self) -> Option<String> {
        self.shared()
            .subscribe
            .pc
            .remote_description()
            .await
            .map(|d| d.sdp)
    }

    fn stream_id(&self, source: TrackSource) -> String {
        let mut ids = match self.inner.stream_ids.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        ids.entry(source)
            .or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone()
    }

    /// One offer/answer round on the publish connection, announcing
    /// `tracks`. The caller holds the `published` lock.
    async fn renegotiate(&self, tracks: &[LocalTrack]) -> Result<(), SdkError> {
        self.shared().renegotiate(tracks).await
    }
}

/// Creates and applies an offer on `conn`; returns it as applied.
async fn local_offer(conn: &Conn) -> Result<SessionDescription, SdkError> {
    let offer = conn
        .pc
        .create_offer(None)
        .await
        .map_err(|e| SdkError::webrtc("creating an offer", e))?;
    conn.pc
        .set_local_description(offer.clone())
        .await
        .map_err(|e| SdkError::webrtc("applying the local offer", e))?;
    let sdp = conn
        .pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .unwrap_or(offer.sdp);
    Ok(SessionDescription::offer(sdp))
}

/// The `join` request and the publish answer.
async fn join_room(shared: &Shared, opts: &JoinOptions) -> Result<Value, SdkError> {
    let offer = local_offer(&shared.publish).await?;
    let reply = shared
        .signal
        .call(
            "join",
            messages::join_params(&opts.name, &opts.metadata, &offer),
        )
        .await?;
    let answer = messages::description(&reply, "answer")
        .ok_or_else(|| SdkError::Protocol(format!("the join reply has no answer: {reply}")))?;
    shared
        .publish
        .set_remote(connection::remote_description(&answer)?)
        .await?;
    Ok(reply)
}

/// `ping {timestamp}` every 3 s while the socket is open (the server closes
/// a socket silent for 30 s).
async fn keep_alive(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    tick.tick().await;
    loop {
        tick.tick().await;
        if shared.signal.close_info().is_some() {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        match shared
            .signal
            .call_with_timeout("ping", json!({ "timestamp": now }), Duration::from_secs(12))
            .await
        {
            Ok(_) => {}
            Err(RpcError::Closed { .. }) => return,
            Err(e) => tracing::warn!(error = %e, "ping failed"),
        }
    }
}

pub(crate) async fn fetch_init(opts: &JoinOptions, peer_id: &str) -> Result<InitReply, SdkError> {
    let base = opts.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(SdkError::InvalidUrl {
            url: opts.base_url.clone(),
            reason: "expected http:// or https://".into(),
        });
    }
    let http = reqwest::Client::builder()
        .timeout(opts.timeout)
        .build()
        .map_err(|e| SdkError::Http(e.to_string()))?;
    let resp = http
        .get(format!("{base}/init"))
        .query(&[("peer_id", peer_id)])
        .bearer_auth(&opts.token)
        .send()
        .await
        .map_err(|e| SdkError::Http(e.to_string()))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| SdkError::Http(e.to_string()))?;
    if !status.is_success() {
        let (code, message) = messages::init_refusal(&body);
        return Err(SdkError::Init {
            status: status.as_u16(),
            code,
            message,
        });
    }
    let json: Value = serde_json::from_str(&body)
        .map_err(|e| SdkError::Http(format!("the /init reply is not JSON: {e}")))?;
    InitReply::from_json(json)
        .ok_or_else(|| SdkError::Protocol("the /init reply has no endpoint".into()))
}

/// `endpoint?peer=<id>&token=<token>`.
pub(crate) fn ws_url(endpoint: &str, peer_id: &str, token: &str) -> Result<String, SdkError> {
    if !(endpoint.starts_with("ws://") || endpoint.starts_with("wss://")) {
        return Err(SdkError::InvalidUrl {
            url: endpoint.to_owned(),
            reason: "the init endpoint is not a ws:// or wss:// URL".into(),
        });
    }
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{endpoint}{sep}peer={}&token={}",
        query_escape(peer_id),
        query_escape(token)
    ))
}

/// Percent-encodes everything but the URL-safe characters.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_carries_peer_and_token() {
        assert_eq!(
            ws_url("ws://127.0.0.1:7880/ws", "p-1", "a.b_c").unwrap(),
            "ws://127.0.0.1:7880/ws?peer=p-1&token=a.b_c"
        );
        assert_eq!(
            ws_url("ws://h/ws?x=1", "p", "t+/=").unwrap(),
            "ws://h/ws?x=1&peer=p&token=t%2B%2F%3D"
        );
        assert!(matches!(
            ws_url("http://h/ws", "p", "t"),
            Err(SdkError::InvalidUrl { .. })
        ));
    }
}
