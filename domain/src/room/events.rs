//! Facts about a room, each a payload struct with its own schema version.
//!
//! A peer's tracks go with it: `PeerLeft` implies its tracks are gone, with no
//! `TrackUnpublished` per track.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codec::{DecodeError, event_enum, unknown};
use crate::ids::{
    MessageId, PeerId, RequestToken, RoleName, RoomId, SessionId, StreamId, TemplateId, TrackId,
    UserId, WorkspaceId,
};
use crate::template::{PublishKind, Roles};
use crate::time::Timestamp;

use super::model::{
    LeaveReason, Recipients, RoomSettings, SessionCloseReason, TemplateSnapshot, TrackKind,
    TrackSource, UnpublishReason,
};

event_enum! {
    /// An event of a room stream. Type names are the variant names. Its serde
    /// form (`{"type": …, "data": …}`) is for people and exports (replay,
    /// audits); the log stores each payload on its own (see [`crate::codec`]).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(tag = "type", content = "data")]
    pub enum RoomEvent {
        RoomCreated(RoomCreated) = 1,
        RoomUpdated(RoomUpdated) = 1,
        RoomEnabled(RoomEnabled) = 1,
        RoomDisabled(RoomDisabled) = 1,
        SessionOpened(SessionOpened) = 1,
        SessionClosed(SessionClosed) = 1,
        PeerJoined(PeerJoined) = 1,
        PeerLeft(PeerLeft) = 1,
        PeerUpdated(PeerUpdated) = 1,
        TrackPublished(TrackPublished) = 1,
        TrackUnpublished(TrackUnpublished) = 1,
        TrackMuted(TrackMuted) = 1,
        TrackUnmuted(TrackUnmuted) = 1,
        TrackUnmuteRequested(TrackUnmuteRequested) = 1,
        RoleChangeRequested(RoleChangeRequested) = 1,
        RoleChanged(RoleChanged) = 1,
        RoomEnded(RoomEnded) = 1,
        MessageBroadcast(MessageBroadcast) = 1,
        PeerJoinFailed(PeerJoinFailed) = 1,
        RoleChangeFailed(RoleChangeFailed) = 1,
    }
}

impl RoomEvent {
    /// Old schema versions → current variants. None exist yet: when a payload
    /// gets a v2, keep the v1 struct in a `v1` module and convert it here.
    fn upcast(event_type: &str, version: u16, _bytes: &[u8]) -> Result<Self, DecodeError> {
        Err(unknown(Self::TYPES, event_type, version))
    }

    /// When the fact happened (the command's time).
    pub fn at(&self) -> Timestamp {
        match self {
            Self::RoomCreated(e) => e.at,
            Self::RoomUpdated(e) => e.at,
            Self::RoomEnabled(e) => e.at,
            Self::RoomDisabled(e) => e.at,
            Self::SessionOpened(e) => e.at,
            Self::SessionClosed(e) => e.at,
            Self::PeerJoined(e) => e.at,
            Self::PeerLeft(e) => e.at,
            Self::PeerUpdated(e) => e.at,
            Self::TrackPublished(e) => e.at,
            Self::TrackUnpublished(e) => e.at,
            Self::TrackMuted(e) => e.at,
            Self::TrackUnmuted(e) => e.at,
            Self::TrackUnmuteRequested(e) => e.at,
            Self::RoleChangeRequested(e) => e.at,
            Self::RoleChanged(e) => e.at,
            Self::RoomEnded(e) => e.at,
            Self::MessageBroadcast(e) => e.at,
            Self::PeerJoinFailed(e) => e.at,
            Self::RoleChangeFailed(e) => e.at,
        }
    }
}

/// The room was created (enabled) with a snapshot of its template's roles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomCreated {
    pub room_id: RoomId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: String,
    pub template_id: TemplateId,
    pub roles: Roles,
    pub settings: RoomSettings,
    pub at: Timestamp,
}

/// Some room fields changed; `None` = unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomUpdated {
    pub name: Option<String>,
    pub description: Option<String>,
    pub template: Option<TemplateSnapshot>,
    pub settings: Option<RoomSettings>,
    pub at: Timestamp,
}

/// The room accepts joins again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomEnabled {
    pub at: Timestamp,
}

/// The room accepts no new joins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomDisabled {
    pub at: Timestamp,
}

/// A session opened (the first peer is joining); `roles` is the room's role
/// snapshot from now on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SessionOpened {
    pub session_id: SessionId,
    pub template_id: TemplateId,
    pub roles: Roles,
    pub at: Timestamp,
}

/// The session closed; every peer has left.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SessionClosed {
    pub session_id: SessionId,
    pub reason: SessionCloseReason,
    pub started_at: Timestamp,
    pub at: Timestamp,
}

/// A peer joined the session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct PeerJoined {
    pub peer_id: PeerId,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub role: RoleName,
    pub at: Timestamp,
}

/// A peer left; its tracks and pending requests are gone with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct PeerLeft {
    pub peer_id: PeerId,
    pub session_id: SessionId,
    pub reason: LeaveReason,
    /// The kick or end-room reason, or "max duration reached".
    pub message: Option<String>,
    /// Who removed it; `None` when it left by itself or its transport died.
    pub removed_by: Option<Actor>,
    pub at: Timestamp,
}

/// A peer's name and/or metadata changed; `None` = unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct PeerUpdated {
    pub peer_id: PeerId,
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub by: Actor,
    pub at: Timestamp,
}

/// A peer published a track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackPublished {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub stream_id: StreamId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    pub description: String,
    pub at: Timestamp,
}

/// A track was unpublished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackUnpublished {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub reason: UnpublishReason,
    pub at: Timestamp,
}

/// A track was muted, by its owner or remotely.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackMuted {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub by: Actor,
    pub at: Timestamp,
}

/// A track was unmuted by its owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackUnmuted {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// Someone asked a peer to unmute a track; nothing changes until it consents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TrackUnmuteRequested {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub by: Actor,
    pub at: Timestamp,
}

/// Someone asked a peer to take a role; the peer accepts with `token`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleChangeRequested {
    pub peer_id: PeerId,
    pub role: RoleName,
    pub token: RequestToken,
    pub by: Actor,
    pub at: Timestamp,
}

/// A peer's role changed. Tracks the new role may not publish were unpublished
/// just before (`TrackUnpublished { reason: RoleChanged }`); pending requests
/// to the peer are dropped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleChanged {
    pub peer_id: PeerId,
    pub from: RoleName,
    pub to: RoleName,
    /// Who asked: the requester of an accepted request, or the forcing actor.
    pub by: Actor,
    pub forced: bool,
    /// Publish kinds the peer gained and has not used since: its first track of
    /// each will be recorded muted.
    pub start_muted: Vec<PublishKind>,
    pub at: Timestamp,
}

/// Someone ended the session; the peers' `PeerLeft` and `SessionClosed` follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomEnded {
    pub session_id: SessionId,
    pub by: Actor,
    pub lock: bool,
    pub reason: String,
    pub at: Timestamp,
}

/// A message was sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct MessageBroadcast {
    pub message_id: MessageId,
    pub session_id: SessionId,
    pub sender: Actor,
    pub recipients: Recipients,
    pub message_type: String,
    pub message: String,
    pub at: Timestamp,
}

/// A join the room refused (for audits and `peer.join.failure` webhooks). It
/// changes no state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct PeerJoinFailed {
    pub peer_id: PeerId,
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub role: RoleName,
    /// The refusal, in words (the decider's error).
    pub reason: String,
    pub at: Timestamp,
}

/// A role change the room refused (for audits and `role.change.failure`
/// webhooks). It changes no state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleChangeFailed {
    pub peer_id: PeerId,
    /// The role asked for.
    pub role: RoleName,
    pub by: Actor,
    pub reason: String,
    pub at: Timestamp,
}
