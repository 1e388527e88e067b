//! The parts of a room's state: room info and settings, session, peers, tracks,
//! and the small enums commands and events share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::ids::{
    PeerId, RequestToken, RoleName, RoomId, SessionId, StreamId, TemplateId, TrackId, UserId,
    WorkspaceId,
};
use crate::template::{PublishKind, Region, Roles};
use crate::time::Timestamp;

/// Default and maximum session length: 12 h.
pub const MAX_SESSION_SECONDS: u32 = 43_200;
/// Shortest allowed `max_duration_seconds`.
pub const MIN_SESSION_SECONDS: u32 = 120;
/// Largest `size` of a standard room.
pub const MAX_ROOM_SIZE: u32 = 2_500;
/// Largest `size` of a `large_room`.
pub const MAX_LARGE_ROOM_SIZE: u32 = 20_000;
/// Largest broadcast message, in bytes (100ms: 4 KB).
pub const MAX_MESSAGE_BYTES: usize = 4_096;

/// A room's own settings (100ms room object fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomSettings {
    /// Most peers at once; `0` = no limit beyond the platform's.
    pub size: u32,
    /// 120–43200 (default 43200 = 12 h): a session is closed when it is this old.
    pub max_duration_seconds: u32,
    /// Allows `size` up to 20 000.
    pub large_room: bool,
    /// `auto` = the template's region.
    pub region: Region,
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            size: 0,
            max_duration_seconds: MAX_SESSION_SECONDS,
            large_room: false,
            region: Region::Auto,
        }
    }
}

/// The template a room follows and the snapshot of its roles.
///
/// The decider never reads another stream: whoever sends the command (the API or
/// the executor) loads the template and passes its roles in. The snapshot is
/// taken at room creation, on room update, and when a session opens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TemplateSnapshot {
    pub template_id: TemplateId,
    pub roles: Roles,
}

/// The room itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoomInfo {
    pub id: RoomId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: String,
    /// A disabled room lets its current session go on but accepts no joins.
    pub enabled: bool,
    pub template_id: TemplateId,
    /// Roles as of the last snapshot (see [`TemplateSnapshot`]).
    pub roles: Roles,
    pub settings: RoomSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The open session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Session {
    pub id: SessionId,
    pub started_at: Timestamp,
}

/// Audio or video.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum TrackKind {
    #[serde(rename = "audio")]
    Audio,
    #[serde(rename = "video")]
    Video,
}

/// Where a track comes from (100ms `source`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum TrackSource {
    /// Microphone or camera.
    #[serde(rename = "regular")]
    Regular,
    /// Screen share (its video, or the tab's audio).
    #[serde(rename = "screen")]
    Screen,
    #[serde(rename = "audioplaylist")]
    AudioPlaylist,
    #[serde(rename = "videoplaylist")]
    VideoPlaylist,
}

/// Which `publishParams.allowed` entry a track needs: anything from the screen
/// needs `screen`; other audio needs `audio`; other video needs `video`.
pub fn publish_kind(kind: TrackKind, source: TrackSource) -> PublishKind {
    match (kind, source) {
        (_, TrackSource::Screen) => PublishKind::Screen,
        (TrackKind::Audio, _) => PublishKind::Audio,
        (TrackKind::Video, _) => PublishKind::Video,
    }
}

/// A published track.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Track {
    pub id: TrackId,
    pub stream_id: StreamId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    pub description: String,
    pub published_at: Timestamp,
}

impl Track {
    /// The `publishParams.allowed` entry this track needs.
    pub fn publish_kind(&self) -> PublishKind {
        publish_kind(self.kind, self.source)
    }
}

/// A polite role-change request waiting for the target's consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleChangeRequest {
    pub token: RequestToken,
    pub role: RoleName,
    pub requested_by: Actor,
    pub requested_at: Timestamp,
}

/// A joined peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct Peer {
    pub id: PeerId,
    pub user_id: UserId,
    pub name: String,
    /// Free text, usually stringified JSON.
    pub metadata: String,
    /// Exactly one role, always one of the room's roles.
    pub role: RoleName,
    pub joined_at: Timestamp,
    pub tracks: BTreeMap<TrackId, Track>,
    /// Pending requests addressed to this peer, by token. A role change clears them.
    pub role_change_requests: BTreeMap<RequestToken, RoleChangeRequest>,
    /// Publish rights gained by a role change and not used yet: the first track
    /// of such a kind is recorded muted (100ms: "after a role change gains
    /// publish rights, tracks start muted").
    pub start_muted: Vec<PublishKind>,
}

/// Why a peer left (100ms `peer.leave.success` `reason`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum LeaveReason {
    #[serde(rename = "client request")]
    ClientRequest,
    #[serde(rename = "peer kicked")]
    PeerKicked,
    #[serde(rename = "websocket closed")]
    WebsocketClosed,
    #[serde(rename = "ice connection state closed")]
    IceConnectionStateClosed,
    /// Also used when the room ends or the session reaches its maximum duration;
    /// the leave's `message` says which.
    #[serde(rename = "server removed peer")]
    ServerRemovedPeer,
}

impl LeaveReason {
    /// The 100ms text, e.g. `"peer kicked"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRequest => "client request",
            Self::PeerKicked => "peer kicked",
            Self::WebsocketClosed => "websocket closed",
            Self::IceConnectionStateClosed => "ice connection state closed",
            Self::ServerRemovedPeer => "server removed peer",
        }
    }
}

/// Why a session closed.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum SessionCloseReason {
    LastPeerLeft,
    RoomEnded,
    MaxDurationReached,
}

/// Why a track was unpublished.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum UnpublishReason {
    /// The owner stopped it.
    ClientRequest,
    /// A role change took away the right to publish it.
    RoleChanged,
}

/// Who receives a broadcast message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub enum Recipients {
    /// Every peer in the session.
    Everyone,
    /// One peer (100ms: `peer_id` beats `role` when both are given).
    Peer(PeerId),
    /// Every peer holding one of these roles.
    Roles(Vec<RoleName>),
}

/// The `leave` message used when a session reaches its maximum duration.
pub const MAX_DURATION_MESSAGE: &str = "max duration reached";
