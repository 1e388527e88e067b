//! What can be asked of a room stream. Time (`at`, `now`) and generated ids
//! (session id, request token, message id) come inside the command.

use crate::actor::Actor;
use crate::ids::{
    MessageId, PeerId, RequestToken, RoleName, RoomId, SessionId, StreamId, TemplateId, TrackId,
    UserId, WorkspaceId,
};
use crate::template::Roles;
use crate::time::Timestamp;

use super::model::{
    LeaveReason, Recipients, RoomSettings, TemplateSnapshot, TrackKind, TrackSource,
};

/// A command on one room stream (`room-<id>`).
#[derive(Clone, Debug, PartialEq)]
pub enum RoomCommand {
    CreateRoom(CreateRoom),
    UpdateRoom(UpdateRoom),
    EnableRoom(EnableRoom),
    DisableRoom(DisableRoom),
    JoinPeer(JoinPeer),
    LeavePeer(LeavePeer),
    UpdatePeer(UpdatePeer),
    PublishTrack(PublishTrack),
    UnpublishTrack(UnpublishTrack),
    MuteTrack(MuteTrack),
    UnmuteTrack(UnmuteTrack),
    RequestTrackMute(RequestTrackMute),
    RequestTrackUnmute(RequestTrackUnmute),
    ChangeTrackMuteState(ChangeTrackMuteState),
    RequestRoleChange(RequestRoleChange),
    AcceptRoleChange(AcceptRoleChange),
    ForceRoleChange(ForceRoleChange),
    ForceRoleChangeBulk(ForceRoleChangeBulk),
    RemovePeer(RemovePeer),
    RemovePeersWithRole(RemovePeersWithRole),
    EndRoom(EndRoom),
    BroadcastMessage(BroadcastMessage),
    Tick(Tick),
    RecordJoinFailure(RecordJoinFailure),
    RecordRoleChangeFailure(RecordRoleChangeFailure),
}

/// Creates the room, enabled, with a snapshot of its template's roles.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRoom {
    pub room_id: RoomId,
    pub workspace_id: WorkspaceId,
    /// 1–100 of `a-z A-Z 0-9 . - : _` (uniqueness is the API's job).
    pub name: String,
    pub description: String,
    pub template_id: TemplateId,
    pub roles: Roles,
    pub settings: RoomSettings,
    pub at: Timestamp,
}

/// Changes what is `Some`. A new template snapshot during a session must keep
/// every joined peer's role, its limit and its tracks valid.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRoom {
    pub name: Option<String>,
    pub description: Option<String>,
    pub template: Option<TemplateSnapshot>,
    pub settings: Option<RoomSettings>,
    pub at: Timestamp,
}

/// Enables the room (no event if it already is).
#[derive(Clone, Debug, PartialEq)]
pub struct EnableRoom {
    pub at: Timestamp,
}

/// Disables the room: the session goes on, new joins are refused.
#[derive(Clone, Debug, PartialEq)]
pub struct DisableRoom {
    pub at: Timestamp,
}

/// A peer joins. When no session is open, this opens one with `session_id`,
/// taking `roles` (if given) as the room's new role snapshot. An open session
/// older than the room's maximum duration is closed first.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinPeer {
    pub peer_id: PeerId,
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub role: RoleName,
    /// Used only if the join opens a session.
    pub session_id: SessionId,
    /// The template's current roles, used only if the join opens a session.
    pub roles: Option<Roles>,
    pub at: Timestamp,
}

/// A peer leaves by itself or its transport is gone.
#[derive(Clone, Debug, PartialEq)]
pub struct LeavePeer {
    pub peer_id: PeerId,
    pub reason: LeaveReason,
    pub at: Timestamp,
}

/// Changes a peer's name and/or metadata: the peer itself or the server.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdatePeer {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub at: Timestamp,
}

/// A peer publishes one of its own tracks.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishTrack {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub stream_id: StreamId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    pub description: String,
    pub at: Timestamp,
}

/// A peer stops one of its own tracks.
#[derive(Clone, Debug, PartialEq)]
pub struct UnpublishTrack {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// A peer mutes its own track.
#[derive(Clone, Debug, PartialEq)]
pub struct MuteTrack {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// A peer unmutes its own track (also how it consents to an unmute request).
#[derive(Clone, Debug, PartialEq)]
pub struct UnmuteTrack {
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// Mutes another peer's track; needs `mute`; applied at once.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTrackMute {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// Asks another peer to unmute a track; needs `unmute`; the target consents
/// by sending [`UnmuteTrack`].
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTrackUnmute {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub track_id: TrackId,
    pub at: Timestamp,
}

/// Bulk remote mute (`mute = true`, needs `mute`, applied) or unmute request
/// (`mute = false`, needs `unmute`) of every track matching all the given
/// filters, excluding the acting peer's own (100ms
/// `change-track-mute-state-request`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeTrackMuteState {
    pub actor: Actor,
    pub mute: bool,
    pub peer_id: Option<PeerId>,
    pub roles: Option<Vec<RoleName>>,
    pub kind: Option<TrackKind>,
    pub source: Option<TrackSource>,
    pub at: Timestamp,
}

/// Asks a peer to take another role (100ms `force=false`); needs `changeRole`.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRoleChange {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub role: RoleName,
    /// Generated by the caller; the target sends it back to accept.
    pub token: RequestToken,
    pub at: Timestamp,
}

/// The target accepts a pending request; the role limit is checked again.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptRoleChange {
    pub peer_id: PeerId,
    pub token: RequestToken,
    pub at: Timestamp,
}

/// Changes a peer's role at once; needs `changeRole` (the server bypasses it,
/// not the role limit).
#[derive(Clone, Debug, PartialEq)]
pub struct ForceRoleChange {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub role: RoleName,
    pub at: Timestamp,
}

/// Moves every peer holding one of `roles` to `role` at once, all or nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct ForceRoleChangeBulk {
    pub actor: Actor,
    pub roles: Vec<RoleName>,
    pub role: RoleName,
    pub at: Timestamp,
}

/// Removes a peer (`peer kicked`); needs `removeOthers`.
#[derive(Clone, Debug, PartialEq)]
pub struct RemovePeer {
    pub actor: Actor,
    pub peer_id: PeerId,
    /// Shown to the peer and in the leave's `message`.
    pub message: String,
    pub at: Timestamp,
}

/// Removes every peer holding `role`; needs `removeOthers`.
#[derive(Clone, Debug, PartialEq)]
pub struct RemovePeersWithRole {
    pub actor: Actor,
    pub role: RoleName,
    pub message: String,
    pub at: Timestamp,
}

/// Ends the session: everyone leaves; `lock` also disables the room. Needs
/// `endRoom`.
#[derive(Clone, Debug, PartialEq)]
pub struct EndRoom {
    pub actor: Actor,
    pub lock: bool,
    pub reason: String,
    pub at: Timestamp,
}

/// Sends a message (≤ 4 KB) to everyone, one peer, or some roles.
#[derive(Clone, Debug, PartialEq)]
pub struct BroadcastMessage {
    pub actor: Actor,
    pub message_id: MessageId,
    pub recipients: Recipients,
    /// `chat` by default at the API; any string.
    pub message_type: String,
    pub message: String,
    pub at: Timestamp,
}

/// Time passes: closes a session older than the room's `max_duration_seconds`.
/// The executor sends it periodically for rooms with a session.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub now: Timestamp,
}

/// Records a join that was refused (the front end ran [`JoinPeer`] and the
/// room said no). Accepted whenever the room exists.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordJoinFailure {
    pub peer_id: PeerId,
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub role: RoleName,
    /// At most [`MAX_FAILURE_REASON`] bytes.
    pub reason: String,
    pub at: Timestamp,
}

/// Records a refused role change (request, accept or force).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRoleChangeFailure {
    pub actor: Actor,
    pub peer_id: PeerId,
    pub role: RoleName,
    pub reason: String,
    pub at: Timestamp,
}

/// Longest recorded failure reason, in bytes.
pub const MAX_FAILURE_REASON: usize = 1_024;

impl RoomCommand {
    /// The moment the command carries.
    pub fn at(&self) -> Timestamp {
        match self {
            Self::CreateRoom(c) => c.at,
            Self::UpdateRoom(c) => c.at,
            Self::EnableRoom(c) => c.at,
            Self::DisableRoom(c) => c.at,
            Self::JoinPeer(c) => c.at,
            Self::LeavePeer(c) => c.at,
            Self::UpdatePeer(c) => c.at,
            Self::PublishTrack(c) => c.at,
            Self::UnpublishTrack(c) => c.at,
            Self::MuteTrack(c) => c.at,
            Self::UnmuteTrack(c) => c.at,
            Self::RequestTrackMute(c) => c.at,
            Self::RequestTrackUnmute(c) => c.at,
            Self::ChangeTrackMuteState(c) => c.at,
            Self::RequestRoleChange(c) => c.at,
            Self::AcceptRoleChange(c) => c.at,
            Self::ForceRoleChange(c) => c.at,
            Self::ForceRoleChangeBulk(c) => c.at,
            Self::RemovePeer(c) => c.at,
            Self::RemovePeersWithRole(c) => c.at,
            Self::EndRoom(c) => c.at,
            Self::BroadcastMessage(c) => c.at,
            Self::Tick(c) => c.now,
            Self::RecordJoinFailure(c) => c.at,
            Self::RecordRoleChangeFailure(c) => c.at,
        }
    }
}

macro_rules! from_commands {
    ($($variant:ident),* $(,)?) => {
        $(
            impl From<$variant> for RoomCommand {
                fn from(c: $variant) -> Self {
                    Self::$variant(c)
                }
            }
        )*
    };
}

from_commands!(
    CreateRoom,
    UpdateRoom,
    EnableRoom,
    DisableRoom,
    JoinPeer,
    LeavePeer,
    UpdatePeer,
    PublishTrack,
    UnpublishTrack,
    MuteTrack,
    UnmuteTrack,
    RequestTrackMute,
    RequestTrackUnmute,
    ChangeTrackMuteState,
    RequestRoleChange,
    AcceptRoleChange,
    ForceRoleChange,
    ForceRoleChangeBulk,
    RemovePeer,
    RemovePeersWithRole,
    EndRoom,
    BroadcastMessage,
    Tick,
    RecordJoinFailure,
    RecordRoleChangeFailure,
);
