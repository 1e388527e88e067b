//! One socket: requests in, replies and notifications out, media events from
//! the transport, and what happens when it closes.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use caucus_domain::room::command::{JoinPeer, LeavePeer};
use caucus_domain::room::model::{LeaveReason, Peer};
use caucus_domain::{
    Aggregate, MessageId, PeerId, RequestToken, Room, RoomCommand, RoomError, RoomId, RoomState,
    SessionId, TrackId,
};
use caucus_eventlog::{Metadata, Position};
use caucus_media::{PeerEvent, SessionDescription, Target, Transport};
use caucus_projections::ExecuteError;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::hub::Batch;
use super::link::{Close, Inbound, Link};
use super::requests::{self, Fresh};
use super::rpc::{self, Incoming, RpcError};
use super::wire::TrackState;
use super::{Admission, AdmitError, Signalling, notify, wire};
use crate::state::AppState;

/// Closes a refused WebSocket with its code and reason.
pub async fn refuse(mut socket: WebSocket, e: &AdmitError) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: e.close_code(),
            reason: e.to_string().into(),
        })))
        .await;
}

/// Runs a room command as `actor`; returns the last position written.
pub async fn execute(
    state: &AppState,
    room: &RoomId,
    actor: &str,
    cmd: RoomCommand,
) -> Result<Option<Position>, RpcError> {
    let meta = Metadata {
        actor: Some(actor.to_owned()),
        correlation_id: Some(uuid::Uuid::now_v7()),
        causation_id: None,
    };
    let failure = failure_record(&cmd);
    // An accept's record needs the pending request, read from the room only
    // when the accept is refused (a refusal appends nothing, so the state
    // read then is the state the decider refused against).
    let accept = match &cmd {
        RoomCommand::AcceptRoleChange(c) => Some(c.clone()),
        _ => None,
    };
    match state
        .engine()
        .rooms
        .execute(room.as_str(), cmd, meta.clone())
        .await
    {
        Ok(done) => Ok(done.outcome.map(|o| o.last_position)),
        Err(ExecuteError::Rejected(e)) => {
            let failure = match accept {
                Some(c) => accept_failure_record(state, room, &c).await,
                None => failure,
            };
            if let Some(record) = failure {
                let record = record(e.to_string());
                if let Err(why) = state
                    .engine()
                    .rooms
                    .execute(room.as_str(), record, meta)
                    .await
                {
                    tracing::warn!(%room, error = %why, "could not record a refusal");
                }
            }
            Err(refused(e))
        }
        Err(e) => Err(RpcError::internal(e)),
    }
}

type FailureRecord = Box<dyn FnOnce(String) -> RoomCommand + Send>;

/// For a join or a role change, how to record its refusal (`PeerJoinFailed`,
/// `RoleChangeFailed`: audits and the `*.failure` webhooks).
fn failure_record(cmd: &RoomCommand) -> Option<FailureRecord> {
    use caucus_domain::room::command::RecordJoinFailure;
    let role_change = role_change_record;
    match cmd {
        RoomCommand::JoinPeer(c) => {
            let c = c.clone();
            Some(Box::new(move |reason| {
                RecordJoinFailure {
                    peer_id: c.peer_id,
                    user_id: c.user_id,
                    name: c.name,
                    metadata: c.metadata,
                    role: c.role,
                    reason,
                    at: c.at,
                }
                .into()
            }))
        }
        RoomCommand::RequestRoleChange(c) => Some(role_change(
            c.actor.clone(),
            c.peer_id.clone(),
            c.role.clone(),
            c.at,
        )),
        RoomCommand::ForceRoleChange(c) => Some(role_change(
            c.actor.clone(),
            c.peer_id.clone(),
            c.role.clone(),
            c.at,
        )),
        _ => None,
    }
}

/// For an accept of a role-change request, how to record its refusal: the
/// command names only the request's token, so the role asked for (and who
/// asked) come from the pending request in the room's current state. An
/// accept of a request the room does not hold records nothing: there is no
/// role to report.
async fn accept_failure_record(
    state: &AppState,
    room: &RoomId,
    c: &caucus_domain::room::command::AcceptRoleChange,
) -> Option<FailureRecord> {
    let (room_state, _) = state.engine().rooms.load(room.as_str()).await.ok()?;
    let request = room_state
        .peers
        .get(&c.peer_id)?
        .role_change_requests
        .get(&c.token)?
        .clone();
    Some(role_change_record(
        request.requested_by,
        c.peer_id.clone(),
        request.role,
        c.at,
    ))
}

fn role_change_record(
    actor: caucus_domain::Actor,
    peer_id: PeerId,
    role: caucus_domain::RoleName,
    at: caucus_domain::Timestamp,
) -> FailureRecord {
    use caucus_domain::room::command::RecordRoleChangeFailure;
    Box::new(move |reason| {
        RecordRoleChangeFailure {
            actor,
            peer_id,
            role,
            reason,
            at,
        }
        .into()
    })
}

/// The JSON-RPC code of a refusal (docs/signalling.md §2).
pub fn refused(e: RoomError) -> RpcError {
    use RoomError as E;
    let code = match &e {
        E::RoomDisabled | E::NoActiveSession => 410,
        E::PermissionDenied { .. } | E::NotOwnPeer | E::NotAllowedToPublish { .. } => 403,
        E::ActorNotInRoom(_) => 421,
        E::RoomNotFound
        | E::PeerNotFound(_)
        | E::TrackNotFound(_)
        | E::RoleChangeRequestNotFound(_) => 404,
        E::RoomAlreadyExists(_)
        | E::DuplicatePeer(_)
        | E::DuplicateTrack(_)
        | E::RoleFull { .. }
        | E::RoomFull { .. }
        | E::RoleInUse { .. } => 409,
        E::OutOfRange { .. }
        | E::Invalid { .. }
        | E::UnknownRole(_)
        | E::MessageTooLarge { .. } => 400,
    };
    RpcError::new(code, e.to_string())
}

struct Session {
    sig: Arc<Signalling>,
    /// The media transport of this link's protocol.
    transport: Arc<dyn Transport>,
    flavor: Flavor,
    adm: Admission,
    peer: PeerId,
    actor: String,
    generation: u64,
    joined: bool,
    /// Notifications at or before this position are already in what the
    /// client was sent (`peer-list`).
    seen: Option<Position>,
    media: Option<mpsc::Receiver<PeerEvent>>,
    out: Vec<String>,
    /// `peer-list` to send right after the `join` reply.
    pending_peer_list: Option<Value>,
    /// Set when the session must end after flushing `out`.
    end: Option<End>,
    /// Tracks this socket published. One of them missing from the room was
    /// unpublished by the server (a role change that took the right to
    /// publish it): the client still lists it until it catches up, and such
    /// a stale entry is ignored rather than published again or refused.
    published: HashSet<TrackId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The peer left or was removed: nothing to keep.
    Left,
    /// A newer socket took over.
    Replaced,
}

/// Which protocol a session speaks: the methods differ only in how media is
/// negotiated (SDP `offer`/`answer`/`trickle` or QUIC `publish`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    WebSocket,
    Quic,
}

/// Serves one admitted link until it closes; `transport` carries its media.
pub async fn run<L: Link>(
    sig: Arc<Signalling>,
    link: &mut L,
    transport: Arc<dyn Transport>,
    flavor: Flavor,
    adm: Admission,
    peer: PeerId,
) {
    let (kick_tx, mut kick_rx) = oneshot::channel();
    let generation = sig.register(&peer, Some(kick_tx));
    link.bind(&peer);
    let mut notes = sig.hub.subscribe(&adm.room);
    let mut s = Session {
        actor: format!("peer:{peer}"),
        sig: sig.clone(),
        transport,
        flavor,
        peer,
        generation,
        joined: false,
        seen: None,
        media: None,
        out: Vec::new(),
        pending_peer_list: None,
        end: None,
        published: HashSet::new(),
        adm,
    };
    s.resume_or_greet().await;
    let idle = sig.config.idle;
    let mut dropped = Close::Dropped;
    loop {
        let mut broken = false;
        for text in s.out.drain(..) {
            if !link.send(text).await {
                broken = true;
                break;
            }
        }
        if broken && s.end.is_none() {
            break;
        }
        if let Some(end) = s.end {
            link.close(match end {
                End::Left => Close::Left,
                End::Replaced => Close::Replaced,
            })
            .await;
            s.finish(Some(end)).await;
            return;
        }
        tokio::select! {
            msg = tokio::time::timeout(idle, link.recv()) => match msg {
                Ok(Some(Inbound::Text(t))) => s.on_text(&t).await,
                Ok(Some(Inbound::Binary)) => s.out.push(rpc::error(
                    &Value::Null,
                    &RpcError::invalid_request("binary frames are not accepted"),
                )),
                Ok(Some(Inbound::Alive)) => {}
                Ok(None) => break,
                Err(_) => {
                    dropped = Close::Idle;
                    break;
                }
            },
            batch = notes.recv() => match batch {
                Ok(b) => s.on_batch(&b),
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(ev) = recv_media(&mut s.media) => s.on_media(ev),
            _ = &mut kick_rx => {
                s.end = Some(End::Replaced);
            }
        }
    }
    link.close(dropped).await;
    s.finish(None).await;
}

async fn recv_media(rx: &mut Option<mpsc::Receiver<PeerEvent>>) -> Option<PeerEvent> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    fn state(&self) -> Option<(Position, Arc<RoomState>)> {
        self.sig.hub.room(&self.adm.room)
    }

    /// `on-policy-change`, and for a peer the log shows joined (a
    /// reconnecting client), its media session and `peer-list`.
    async fn resume_or_greet(&mut self) {
        let Some((pos, state)) = self.state() else {
            return;
        };
        // A resuming peer's role may have changed since its token was minted.
        let role = state
            .peers
            .get(&self.peer)
            .map_or(&self.adm.role, |p| &p.role);
        self.notify("on-policy-change", &wire::policy(&state, role));
        if let Some(p) = state.peers.get(&self.peer) {
            if p.user_id != self.adm.user {
                self.error_note(RpcError::new(409, "this peer id belongs to another user"));
                self.end = Some(End::Replaced);
                return;
            }
            match self.transport.attach(&self.adm.room, &self.peer).await {
                Ok(rx) => self.media = Some(rx),
                Err(e) => self.error_note(RpcError::internal(e)),
            }
            self.joined = true;
            self.seen = Some(pos);
            self.notify("peer-list", &wire::peer_list(&state));
        }
    }

    fn notify(&mut self, method: &str, params: &Value) {
        self.out.push(rpc::notification(method, params));
    }

    fn error_note(&mut self, e: RpcError) {
        self.notify("on-error", &json!({ "code": e.code, "message": e.message }));
    }

    async fn on_text(&mut self, text: &str) {
        match rpc::parse(text) {
            Err((id, e)) => {
                if !id.is_null() || e.code == -32700 || e.code == -32600 {
                    self.out.push(rpc::error(&id, &e));
                }
            }
            Ok(Incoming::Request { id, method, params }) => {
                let r = self.request(&method, &params).await;
                self.out.push(match r {
                    Ok(v) => rpc::reply(&id, v),
                    Err(e) => rpc::error(&id, &e),
                });
                if let Some(list) = self.pending_peer_list.take() {
                    self.notify("peer-list", &list);
                }
            }
            Ok(Incoming::Notification { method, params }) => {
                if let Err(e) = self.notification(&method, &params).await {
                    self.error_note(e);
                }
            }
        }
    }

    async fn exec(&self, cmd: RoomCommand) -> Result<Option<Position>, RpcError> {
        execute(&self.sig.state, &self.adm.room, &self.actor, cmd).await
    }

    /// Runs commands that must all pass: each is checked against the state
    /// the previous ones leave before any is appended.
    async fn exec_all(&self, cmds: Vec<RoomCommand>) -> Result<(), RpcError> {
        if cmds.is_empty() {
            return Ok(());
        }
        let (_, state) = self
            .state()
            .ok_or_else(|| RpcError::new(404, "no such room"))?;
        check_all(&state, &cmds)?;
        let mut last = None;
        for c in cmds {
            last = self.exec(c).await?.or(last);
        }
        // Replies come after the hub (and so every socket) has seen the change.
        if let Some(pos) = last {
            self.sig
                .hub
                .wait_for(pos)
                .await
                .map_err(RpcError::internal)?;
        }
        Ok(())
    }

    fn fresh(&self) -> Result<Fresh, RpcError> {
        let u = uuid::Uuid::new_v4().to_string();
        Ok(Fresh {
            token: RequestToken::parse_str(&u).map_err(RpcError::internal)?,
            message_id: MessageId::parse_str(&u).map_err(RpcError::internal)?,
        })
    }

    async fn request(&mut self, method: &str, params: &Value) -> Result<Value, RpcError> {
        match method {
            "ping" => {
                Ok(json!({ "timestamp": params.get("timestamp").cloned().unwrap_or(Value::Null) }))
            }
            "join" => self.join(params).await,
            _ if !self.joined => {
                if is_known(method, self.flavor) {
                    Err(RpcError::not_joined())
                } else {
                    Err(RpcError::unknown_method(method))
                }
            }
            "offer" if self.flavor == Flavor::WebSocket => self.offer(params).await,
            "publish" if self.flavor == Flavor::Quic => self.publish(params).await,
            "offer" | "publish" | "hello" => Err(RpcError::unknown_method(method)),
            "broadcast" => {
                let fresh = self.fresh()?;
                let id = fresh.message_id.clone();
                let at = self.sig.state.now();
                let cmd = requests::control(method, &self.peer, params, fresh, at)
                    .unwrap_or_else(|| Err(RpcError::unknown_method(method)))?;
                self.exec(cmd).await?;
                Ok(json!({ "message_id": id.as_str(), "timestamp": wire::millis(at) }))
            }
            _ => {
                let at = self.sig.state.now();
                match requests::control(method, &self.peer, params, self.fresh()?, at) {
                    Some(cmd) => {
                        self.exec(cmd?).await?;
                        Ok(json!({}))
                    }
                    None => Err(RpcError::unknown_method(method)),
                }
            }
        }
    }

    async fn notification(&mut self, method: &str, params: &Value) -> Result<(), RpcError> {
        match method {
            "leave" => {
                if self.joined {
                    let cmd = LeavePeer {
                        peer_id: self.peer.clone(),
                        reason: LeaveReason::ClientRequest,
                        at: self.sig.state.now(),
                    };
                    self.exec(cmd.into()).await?;
                }
                self.end = Some(End::Left);
                Ok(())
            }
            _ if !self.joined => Err(RpcError::not_joined()),
            "answer" | "trickle" if self.flavor == Flavor::Quic => {
                Err(RpcError::unknown_method(method))
            }
            "answer" => {
                let desc = description(params)?;
                self.transport
                    .subscribe_answer(&self.peer, &desc)
                    .await
                    .map_err(RpcError::invalid_params)
            }
            "trickle" => {
                #[derive(Deserialize)]
                struct P {
                    target: u64,
                    candidate: caucus_media::IceCandidate,
                }
                let p: P = requests::params(params)?;
                let target = Target::from_wire(p.target)
                    .ok_or_else(|| RpcError::invalid_params("target must be 0 or 1"))?;
                self.transport
                    .trickle(&self.peer, target, &p.candidate)
                    .await
                    .map_err(RpcError::invalid_params)
            }
            "track-update" => {
                let (_, _, cmds) = self.track_commands(params, false)?;
                self.exec_all(cmds).await
            }
            // The SDK reports analytics; Caucus has no use for them yet.
            "analytics" => Ok(()),
            m => Err(RpcError::unknown_method(m)),
        }
    }

    async fn join(&mut self, params: &Value) -> Result<Value, RpcError> {
        #[derive(Deserialize)]
        struct P {
            #[serde(default)]
            name: String,
            #[serde(default)]
            data: String,
            offer: Option<SessionDescription>,
        }
        if self.joined {
            return Err(RpcError::new(409, "already joined"));
        }
        let p: P = requests::params(params)?;
        let transport = self.transport.clone();
        let rx = transport
            .attach(&self.adm.room, &self.peer)
            .await
            .map_err(RpcError::internal)?;
        let answer = match &p.offer {
            Some(offer) => match transport.publish_offer(&self.peer, offer).await {
                Ok(a) => Some(a),
                Err(e) => {
                    transport.detach(&self.peer).await;
                    return Err(RpcError::invalid_params(e));
                }
            },
            None => None,
        };
        let session_id =
            SessionId::parse_str(&self.sig.state.new_id()).map_err(RpcError::internal)?;
        let cmd = JoinPeer {
            peer_id: self.peer.clone(),
            user_id: self.adm.user.clone(),
            name: p.name,
            metadata: p.data,
            role: self.adm.role.clone(),
            session_id,
            roles: None,
            at: self.sig.state.now(),
        };
        let pos = match self.exec(cmd.into()).await {
            Ok(pos) => pos,
            Err(e) => {
                transport.detach(&self.peer).await;
                return Err(e);
            }
        };
        if let Some(pos) = pos {
            self.sig
                .hub
                .wait_for(pos)
                .await
                .map_err(RpcError::internal)?;
        }
        self.joined = true;
        self.media = Some(rx);
        if let Some((pos, state)) = self.state() {
            self.seen = Some(pos);
            // Sent after the reply (the SDK applies the answer first).
            self.pending_peer_list = Some(wire::peer_list(&state));
        }
        let node = json!("caucus");
        Ok(match answer {
            Some(a) => json!({ "type": a.kind, "sdp": a.sdp, "sfu_node_id": node }),
            None => json!({ "sfu_node_id": node }),
        })
    }

    /// The peer's wanted tracks (stale ones dropped) and the commands that
    /// reconcile the room with them (`complete`: the map is every track).
    fn track_commands(&self, params: &Value, complete: bool) -> Result<TrackCommands, RpcError> {
        let wanted = requests::track_map(params)?;
        let (_, state) = self
            .state()
            .ok_or_else(|| RpcError::new(404, "no such room"))?;
        let me = state
            .peers
            .get(&self.peer)
            .ok_or_else(RpcError::not_joined)?;
        let wanted = self.without_stale(me, wanted);
        let cmds = requests::reconcile_tracks(me, &wanted, complete, self.sig.state.now())?;
        Ok((state, wanted, cmds))
    }

    async fn offer(&mut self, params: &Value) -> Result<Value, RpcError> {
        let desc = description(params)?;
        let (wanted, cmds) = self.prepare_publish(params)?;
        let answer = self
            .transport
            .publish_offer(&self.peer, &desc)
            .await
            .map_err(RpcError::invalid_params)?;
        self.commit_publish(wanted, cmds).await?;
        Ok(json!({ "type": answer.kind, "sdp": answer.sdp }))
    }

    /// QUIC `publish` (docs/quic-protocol.md §3): the `offer` track map
    /// without SDP, each track with its `alias`, `codec` and `timescale`.
    async fn publish(&mut self, params: &Value) -> Result<Value, RpcError> {
        let frames = requests::frame_tracks(params)?;
        let (wanted, cmds) = self.prepare_publish(params)?;
        let frames = frames
            .into_iter()
            .filter(|f| wanted.contains_key(&f.track))
            .collect();
        self.transport
            .declare_tracks(&self.peer, frames)
            .await
            .map_err(RpcError::invalid_params)?;
        self.commit_publish(wanted, cmds).await?;
        Ok(json!({}))
    }

    /// The tracks a complete track map wants and the commands that get the
    /// room there, all checked before anything changes.
    fn prepare_publish(
        &self,
        params: &Value,
    ) -> Result<(BTreeMap<TrackId, TrackState>, Vec<RoomCommand>), RpcError> {
        let (state, wanted, cmds) = self.track_commands(params, true)?;
        check_all(&state, &cmds)?;
        Ok((wanted, cmds))
    }

    async fn commit_publish(
        &mut self,
        wanted: BTreeMap<TrackId, TrackState>,
        cmds: Vec<RoomCommand>,
    ) -> Result<(), RpcError> {
        self.exec_all(cmds).await?;
        self.published.extend(wanted.keys().cloned());
        // A track the room recorded muted although the client offered it
        // unmuted (the first track after a role change granted the right to
        // publish starts muted): the owner is told to mute it, as a remote
        // mute would.
        if let Some(me) = self
            .state()
            .and_then(|(_, s)| s.peers.get(&self.peer).cloned())
        {
            for (tid, t) in &wanted {
                if !t.mute && me.tracks.get(tid).is_some_and(|have| have.muted) {
                    self.notify(
                        "on-track-update-request",
                        &notify::track_update_request(Value::Null, &t.track_id, &t.stream_id, true),
                    );
                }
            }
        }
        Ok(())
    }

    /// `wanted` without the tracks this socket published that the room has
    /// since unpublished (see [`Session::published`]).
    fn without_stale(
        &self,
        me: &Peer,
        wanted: BTreeMap<TrackId, TrackState>,
    ) -> BTreeMap<TrackId, TrackState> {
        wanted
            .into_iter()
            .filter(|(tid, _)| me.tracks.contains_key(tid) || !self.published.contains(tid))
            .collect()
    }

    fn on_batch(&mut self, b: &Batch) {
        if self.seen.is_some_and(|s| b.position <= s) || !self.joined {
            return;
        }
        for o in &b.outgoing {
            if o.to.includes(&self.peer) {
                self.notify(o.method, &o.params);
                if o.closes {
                    self.end = Some(End::Left);
                    return;
                }
            }
        }
    }

    fn on_media(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::SubscribeOffer(d) => {
                self.notify("offer", &json!({ "type": d.kind, "sdp": d.sdp }));
            }
            PeerEvent::Candidate { target, candidate } => {
                self.notify(
                    "trickle",
                    &json!({ "target": target.wire(), "candidate": candidate }),
                );
            }
            PeerEvent::Connected { .. } | PeerEvent::TrackFlowing { .. } => {}
            PeerEvent::MediaTrack {
                track,
                publisher,
                alias,
                kind,
                codec,
                timescale,
            } => self.notify(
                "media-track",
                &json!({ "track_id": track.as_str(), "peer_id": publisher.as_str(),
                         "alias": alias, "kind": kind, "codec": codec, "timescale": timescale }),
            ),
            PeerEvent::MediaTrackEnd { alias } => {
                self.notify("media-track-end", &json!({ "alias": alias }));
            }
            PeerEvent::KeyframeRequest { alias } => {
                self.notify("keyframe-request", &json!({ "alias": alias }));
            }
            PeerEvent::Failed { target, reason } => {
                self.error_note(RpcError::new(
                    4005,
                    format!("{target:?} connection failed: {reason}"),
                ));
            }
        }
    }

    /// After the socket closed: a peer that left or was removed is gone; a
    /// dropped socket starts the grace period.
    async fn finish(self, end: Option<End>) {
        match end {
            Some(End::Replaced) => {}
            Some(End::Left) => {
                self.sig.forget(&self.peer, self.generation);
                self.transport.detach(&self.peer).await;
            }
            None if self.joined => {
                self.sig.clone().start_grace(
                    self.adm.room.clone(),
                    self.peer.clone(),
                    self.generation,
                    LeaveReason::WebsocketClosed,
                );
            }
            None => {
                self.sig.forget(&self.peer, self.generation);
            }
        }
    }
}

/// A request's view of the room, the tracks it wants, and the commands.
type TrackCommands = (
    Arc<RoomState>,
    std::collections::BTreeMap<caucus_domain::TrackId, wire::TrackState>,
    Vec<RoomCommand>,
);

/// Checks that `cmds` would all be accepted, each against the state the
/// previous ones leave, before any is appended.
fn check_all(state: &RoomState, cmds: &[RoomCommand]) -> Result<(), RpcError> {
    let mut s = state.clone();
    for c in cmds {
        for e in Room::decide(&s, c).map_err(refused)? {
            Room::apply(&mut s, &e);
        }
    }
    Ok(())
}

fn description(params: &Value) -> Result<SessionDescription, RpcError> {
    #[derive(Deserialize)]
    struct P {
        desc: SessionDescription,
    }
    requests::params::<P>(params).map(|p| p.desc)
}

/// Methods of the protocol that need a joined peer.
fn is_known(method: &str, flavor: Flavor) -> bool {
    match (method, flavor) {
        ("offer", Flavor::WebSocket) | ("publish", Flavor::Quic) => return true,
        ("offer" | "publish", _) => return false,
        _ => {}
    }
    matches!(
        method,
        "end-room"
            | "role-change-request"
            | "role-change"
            | "track-update-request"
            | "change-track-mute-state-request"
            | "peer-leave-request"
            | "peer-update"
            | "broadcast"
    )
}
