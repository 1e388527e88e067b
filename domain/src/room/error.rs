//! Why a room command is refused.

use crate::ids::{PeerId, RequestToken, RoleName, RoomId, TrackId};
use crate::template::PublishKind;

/// A refused room command. A refusal changes nothing.
///
/// Mapping for callers: `RoomNotFound`/`PeerNotFound`/`TrackNotFound`/
/// `RoleChangeRequestNotFound` → 404; `PermissionDenied`/`ActorNotInRoom`/
/// `NotOwnPeer`/`NotAllowedToPublish` → 403; `RoomDisabled` → 403 (join
/// failure "room disabled"); `RoleFull` → "role limit reached"; `DuplicatePeer` →
/// join failure "duplicate peer id"; the rest → 400/409.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("room not found")]
    RoomNotFound,
    #[error("room {0} already exists")]
    RoomAlreadyExists(RoomId),
    #[error("{field} must be in {min}..={max}, got {value}")]
    OutOfRange {
        field: &'static str,
        min: i64,
        max: i64,
        value: i64,
    },
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("room is disabled")]
    RoomDisabled,
    #[error("room has no active session")]
    NoActiveSession,
    #[error("role {0} is not defined in the room's template")]
    UnknownRole(RoleName),
    #[error("role limit reached: role {role} allows {limit} peers")]
    RoleFull { role: RoleName, limit: u32 },
    #[error("room is full ({size} peers)")]
    RoomFull { size: u32 },
    #[error("duplicate peer id {0}")]
    DuplicatePeer(PeerId),
    #[error("peer {0} not found")]
    PeerNotFound(PeerId),
    /// The acting peer is not joined, so it has no role to grant anything.
    #[error("acting peer {0} is not in the room")]
    ActorNotInRoom(PeerId),
    #[error("permission denied: role lacks {permission}")]
    PermissionDenied { permission: &'static str },
    /// A peer tried to change another peer's own data (name, metadata).
    #[error("a peer may only change itself")]
    NotOwnPeer,
    #[error("track {0} not found")]
    TrackNotFound(TrackId),
    #[error("track {0} is already published")]
    DuplicateTrack(TrackId),
    #[error("role may not publish {kind}")]
    NotAllowedToPublish { kind: PublishKind },
    #[error("no pending role change request with token {0}")]
    RoleChangeRequestNotFound(RequestToken),
    /// A new role snapshot would leave a joined peer with a missing role, over a
    /// role limit, or with tracks it may no longer publish.
    #[error("role {role} is in use by joined peers and cannot change that way")]
    RoleInUse { role: RoleName },
    #[error("message is {size} bytes, more than {max}")]
    MessageTooLarge { size: usize, max: usize },
}
