//! `/v2/active-rooms`: the live session of a room, its peers and their tracks,
//! and the server's controls: update a peer, remove peers, send a message, end
//! the room. Every control is a room command with the server as actor (which
//! bypasses role permissions, never role limits).

use std::collections::BTreeMap;

use caucus_domain::room::{
    BroadcastMessage, DisableRoom, EndRoom, ForceRoleChange, Peer, Recipients, RemovePeer,
    RemovePeersWithRole, RoomState, Track, TrackKind, TrackSource, UpdatePeer,
};
use caucus_domain::{Actor, MessageId, PeerId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, OptionalBody, Path, Query};
use crate::routes::{rooms, templates};
use crate::state::AppState;
use crate::timefmt::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_active_room))
        .routes(routes!(list_peers))
        .routes(routes!(get_peer, update_peer))
        .routes(routes!(send_message))
        .routes(routes!(remove_peers))
        .routes(routes!(end_room))
}

/// The open session of a room.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveSession {
    pub id: String,
    pub created_at: String,
    /// Ids of the peers in the session.
    pub peers: Vec<String>,
}

/// A room with its open session.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveRoomObject {
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub session: ActiveSession,
}

/// A peer in a live session.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerObject {
    /// A UUID.
    pub id: String,
    pub name: String,
    pub user_id: String,
    /// Free text, usually stringified JSON.
    pub metadata: String,
    pub role: String,
    pub joined_at: String,
}

/// A published track.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackObject {
    pub id: String,
    pub stream_id: String,
    pub mute: bool,
    /// `audio` or `video`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `regular`, `screen`, `audioplaylist` or `videoplaylist`.
    pub source: String,
    pub started_at: String,
    pub description: String,
}

/// A peer with its tracks.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerWithTracks {
    #[serde(flatten)]
    pub peer: PeerObject,
    pub tracks: BTreeMap<String, TrackObject>,
}

/// `{peers: {<peer_id>: peer}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeerMap {
    pub peers: BTreeMap<String, PeerObject>,
}

/// `{message}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeerFilters {
    pub user_id: Option<String>,
    pub role: Option<String>,
}

/// Change a peer's name, role (applied at once) or metadata.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    pub metadata: Option<String>,
}

/// A message to everyone, one peer (`peer_id` wins) or one role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessage {
    /// At most 4 KB.
    pub message: String,
    #[serde(alias = "peerId")]
    pub peer_id: Option<String>,
    pub role: Option<String>,
    /// Default `chat`.
    #[serde(rename = "type")]
    pub message_type: Option<String>,
}

/// Remove one peer or every peer of a role (one of the two is required).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RemovePeers {
    pub peer_id: Option<String>,
    pub role: Option<String>,
    /// Shown to the removed peers.
    pub reason: Option<String>,
}

/// End the session; `lock` also disables the room.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EndRoomBody {
    pub reason: Option<String>,
    pub lock: Option<bool>,
}

impl PeerObject {
    pub fn from_peer(p: &Peer) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            user_id: p.user_id.to_string(),
            metadata: p.metadata.clone(),
            role: p.role.to_string(),
            joined_at: rfc3339(p.joined_at),
        }
    }
}

impl TrackObject {
    fn from_track(t: &Track) -> Self {
        Self {
            id: t.id.to_string(),
            stream_id: t.stream_id.to_string(),
            mute: t.muted,
            kind: match t.kind {
                TrackKind::Audio => "audio",
                TrackKind::Video => "video",
            }
            .into(),
            source: match t.source {
                TrackSource::Regular => "regular",
                TrackSource::Screen => "screen",
                TrackSource::AudioPlaylist => "audioplaylist",
                TrackSource::VideoPlaylist => "videoplaylist",
            }
            .into(),
            started_at: rfc3339(t.published_at),
            description: t.description.clone(),
        }
    }
}

fn with_tracks(p: &Peer) -> PeerWithTracks {
    PeerWithTracks {
        peer: PeerObject::from_peer(p),
        tracks: p
            .tracks
            .values()
            .map(|t| (t.id.to_string(), TrackObject::from_track(t)))
            .collect(),
    }
}

/// The live state of a room in the caller's workspace, or 404.
fn live_room(state: &AppState, caller: &Caller, id: &str) -> ApiResult<RoomState> {
    let id = rooms::room_id(id)?;
    state
        .engine()
        .live
        .read(|l| l.room_in(&caller.workspace_id, &id).cloned())
        .ok_or_else(|| ApiError::not_found("room"))
}

fn peer_id(s: &str) -> ApiResult<PeerId> {
    PeerId::new(s).map_err(|_| ApiError::not_found("peer"))
}

fn no_session() -> ApiError {
    ApiError::NotFound("room has no active session".into())
}

/// Get the live session of a room (404 when no session is open).
#[utoipa::path(get, path = "/v2/active-rooms/{room_id}", tag = "active-rooms",
    params(("room_id" = String, Path)),
    responses((status = 200, body = ActiveRoomObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_active_room(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ActiveRoomObject>> {
    let r = live_room(&state, &caller, &id)?;
    let (Some(info), Some(session)) = (&r.room, &r.session) else {
        return Err(no_session());
    };
    Ok(axum::Json(ActiveRoomObject {
        id: info.id.to_string(),
        name: info.name.clone(),
        customer_id: info.workspace_id.to_string(),
        session: ActiveSession {
            id: session.id.to_string(),
            created_at: rfc3339(session.started_at),
            peers: r.peers.keys().map(ToString::to_string).collect(),
        },
    }))
}

/// List the peers in a room's live session (empty when none is open).
#[utoipa::path(get, path = "/v2/active-rooms/{room_id}/peers", tag = "active-rooms",
    params(("room_id" = String, Path), PeerFilters),
    responses((status = 200, body = PeerMap), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_peers(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PeerFilters>,
) -> ApiResult<axum::Json<PeerMap>> {
    let r = live_room(&state, &caller, &id)?;
    let peers = r
        .peers
        .values()
        .filter(|p| q.user_id.as_ref().is_none_or(|u| p.user_id.as_str() == u))
        .filter(|p| q.role.as_ref().is_none_or(|role| p.role.as_str() == role))
        .map(|p| (p.id.to_string(), PeerObject::from_peer(p)))
        .collect();
    Ok(axum::Json(PeerMap { peers }))
}

/// Get a peer with its tracks.
#[utoipa::path(get, path = "/v2/active-rooms/{room_id}/peers/{peer_id}", tag = "active-rooms",
    params(("room_id" = String, Path), ("peer_id" = String, Path)),
    responses((status = 200, body = PeerWithTracks), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_peer(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, peer)): Path<(String, String)>,
) -> ApiResult<axum::Json<PeerWithTracks>> {
    let r = live_room(&state, &caller, &id)?;
    let p = r
        .peers
        .get(&peer_id(&peer)?)
        .ok_or_else(|| ApiError::not_found("peer"))?;
    Ok(axum::Json(with_tracks(p)))
}

/// Update a peer's name, metadata, or role (a forced change, no consent asked).
#[utoipa::path(post, path = "/v2/active-rooms/{room_id}/peers/{peer_id}", tag = "active-rooms",
    params(("room_id" = String, Path), ("peer_id" = String, Path)), request_body = PeerUpdate,
    responses((status = 200, body = PeerWithTracks), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_peer(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, peer)): Path<(String, String)>,
    Body(body): Body<PeerUpdate>,
) -> ApiResult<axum::Json<PeerWithTracks>> {
    if body.name.is_none() && body.role.is_none() && body.metadata.is_none() {
        return Err(ApiError::invalid(
            "invalid body",
            "give at least one of name, role, metadata",
        ));
    }
    let r = live_room(&state, &caller, &id)?;
    let pid = peer_id(&peer)?;
    if !r.peers.contains_key(&pid) {
        return Err(ApiError::not_found("peer"));
    }
    let role = body.role.as_deref().map(templates::role_name).transpose()?;
    let now = state.now();
    if body.name.is_some() || body.metadata.is_some() {
        let cmd = UpdatePeer {
            actor: Actor::Server,
            peer_id: pid.clone(),
            name: body.name,
            metadata: body.metadata,
            at: now,
        };
        state.room_command(&caller, &id, cmd).await?;
    }
    if let Some(role) = role {
        let cmd = ForceRoleChange {
            actor: Actor::Server,
            peer_id: pid.clone(),
            role,
            at: now,
        };
        state.room_command(&caller, &id, cmd).await?;
    }
    let r = live_room(&state, &caller, &id)?;
    let p = r
        .peers
        .get(&pid)
        .ok_or_else(|| ApiError::not_found("peer"))?;
    Ok(axum::Json(with_tracks(p)))
}

/// Send a message to the peers of a room's live session.
#[utoipa::path(post, path = "/v2/active-rooms/{room_id}/send-message", tag = "active-rooms",
    params(("room_id" = String, Path)), request_body = SendMessage,
    responses((status = 200, body = MessageResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_message(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<SendMessage>,
) -> ApiResult<axum::Json<MessageResponse>> {
    live_room(&state, &caller, &id)?;
    let recipients = match (&body.peer_id, &body.role) {
        (Some(p), _) => Recipients::Peer(peer_id(p)?),
        (None, Some(r)) => Recipients::Roles(vec![templates::role_name(r)?]),
        (None, None) => Recipients::Everyone,
    };
    let message_id = MessageId::new(uuid::Uuid::new_v4().to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cmd = BroadcastMessage {
        actor: Actor::Server,
        message_id,
        recipients,
        message_type: body.message_type.unwrap_or_else(|| "chat".into()),
        message: body.message,
        at: state.now(),
    };
    state.room_command(&caller, &id, cmd).await?;
    Ok(axum::Json(MessageResponse {
        message: "message sent".into(),
    }))
}

/// Remove one peer (`peer_id`) or every peer of a role (`role`).
#[utoipa::path(post, path = "/v2/active-rooms/{room_id}/remove-peers", tag = "active-rooms",
    params(("room_id" = String, Path)), request_body = RemovePeers,
    responses((status = 200, body = MessageResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_peers(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<RemovePeers>,
) -> ApiResult<axum::Json<MessageResponse>> {
    live_room(&state, &caller, &id)?;
    let message = body.reason.unwrap_or_default();
    let at = state.now();
    match (body.peer_id, body.role) {
        (Some(p), _) => {
            let cmd = RemovePeer {
                actor: Actor::Server,
                peer_id: peer_id(&p)?,
                message,
                at,
            };
            state.room_command(&caller, &id, cmd).await?;
        }
        (None, Some(r)) => {
            let cmd = RemovePeersWithRole {
                actor: Actor::Server,
                role: templates::role_name(&r)?,
                message,
                at,
            };
            state.room_command(&caller, &id, cmd).await?;
        }
        (None, None) => {
            return Err(ApiError::invalid("invalid body", "give peer_id or role"));
        }
    }
    Ok(axum::Json(MessageResponse {
        message: "peer remove request submitted".into(),
    }))
}

/// End the live session: every peer leaves. With `lock`, the room is also
/// disabled (even when no session is open).
#[utoipa::path(post, path = "/v2/active-rooms/{room_id}/end-room", tag = "active-rooms",
    params(("room_id" = String, Path)), request_body = EndRoomBody,
    responses((status = 200, body = MessageResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn end_room(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalBody(body): OptionalBody<EndRoomBody>,
) -> ApiResult<axum::Json<MessageResponse>> {
    let r = live_room(&state, &caller, &id)?;
    let lock = body.lock.unwrap_or(false);
    let at = state.now();
    if r.session.is_none() {
        if !lock {
            return Err(no_session());
        }
        state.room_command(&caller, &id, DisableRoom { at }).await?;
    } else {
        let cmd = EndRoom {
            actor: Actor::Server,
            lock,
            reason: body.reason.unwrap_or_else(|| "room ended".into()),
            at,
        };
        match state.room_command(&caller, &id, cmd).await {
            // The last peer left in between: only the lock remains to do.
            Err(ApiError::NotFound(_)) if lock => {
                state.room_command(&caller, &id, DisableRoom { at }).await?;
            }
            other => {
                other?;
            }
        }
    }
    Ok(axum::Json(MessageResponse {
        message: "session is ending".into(),
    }))
}
