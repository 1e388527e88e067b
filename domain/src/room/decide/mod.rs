//! `decide`: the events a room command produces, or why it is refused.
//!
//! Split by concern: `rooms` (create, update, enable, disable, end, tick),
//! `peers` (join, leave, update, remove, messages), `tracks` (publish,
//! mute, remote mute), `roles` (role change request, accept, force). This
//! module holds the checks they share.

mod failures;
mod peers;
mod roles;
mod rooms;
mod tracks;

use crate::actor::Actor;
use crate::ids::{PeerId, RoleName};
use crate::template::{Permission, Role};
use crate::time::Timestamp;

use super::command::RoomCommand;
use super::error::RoomError;
use super::events::{PeerLeft, RoomEvent, SessionClosed};
use super::model::{LeaveReason, Peer, RoomInfo, SessionCloseReason};
use super::state::RoomState;

/// The events `cmd` produces in state `s`, or why it is refused. Pure and total:
/// never panics, reads nothing but its arguments. An empty vector means the
/// command asks for what is already so.
pub fn decide(s: &RoomState, cmd: &RoomCommand) -> Result<Vec<RoomEvent>, RoomError> {
    match cmd {
        RoomCommand::CreateRoom(c) => rooms::create(s, c),
        RoomCommand::UpdateRoom(c) => rooms::update(s, c),
        RoomCommand::EnableRoom(c) => rooms::set_enabled(s, true, c.at),
        RoomCommand::DisableRoom(c) => rooms::set_enabled(s, false, c.at),
        RoomCommand::EndRoom(c) => rooms::end(s, c),
        RoomCommand::Tick(c) => rooms::tick(s, c),
        RoomCommand::JoinPeer(c) => peers::join(s, c),
        RoomCommand::LeavePeer(c) => peers::leave(s, c),
        RoomCommand::UpdatePeer(c) => peers::update(s, c),
        RoomCommand::RemovePeer(c) => peers::remove(s, c),
        RoomCommand::RemovePeersWithRole(c) => peers::remove_with_role(s, c),
        RoomCommand::BroadcastMessage(c) => peers::broadcast(s, c),
        RoomCommand::PublishTrack(c) => tracks::publish(s, c),
        RoomCommand::UnpublishTrack(c) => tracks::unpublish(s, c),
        RoomCommand::MuteTrack(c) => tracks::mute_own(s, &c.peer_id, &c.track_id, true, c.at),
        RoomCommand::UnmuteTrack(c) => tracks::mute_own(s, &c.peer_id, &c.track_id, false, c.at),
        RoomCommand::RequestTrackMute(c) => tracks::request_mute(s, c),
        RoomCommand::RequestTrackUnmute(c) => tracks::request_unmute(s, c),
        RoomCommand::ChangeTrackMuteState(c) => tracks::change_mute_state(s, c),
        RoomCommand::RequestRoleChange(c) => roles::request(s, c),
        RoomCommand::AcceptRoleChange(c) => roles::accept(s, c),
        RoomCommand::ForceRoleChange(c) => roles::force(s, c),
        RoomCommand::ForceRoleChangeBulk(c) => roles::force_bulk(s, c),
        RoomCommand::RecordJoinFailure(c) => failures::join(s, c),
        RoomCommand::RecordRoleChangeFailure(c) => failures::role_change(s, c),
    }
}

fn room(s: &RoomState) -> Result<&RoomInfo, RoomError> {
    s.room.as_ref().ok_or(RoomError::RoomNotFound)
}

fn peer<'a>(s: &'a RoomState, id: &PeerId) -> Result<&'a Peer, RoomError> {
    s.peers
        .get(id)
        .ok_or_else(|| RoomError::PeerNotFound(id.clone()))
}

fn role<'a>(s: &'a RoomState, name: &RoleName) -> Result<&'a Role, RoomError> {
    s.role(name)
        .ok_or_else(|| RoomError::UnknownRole(name.clone()))
}

/// The room exists and the actor may use `permission`: the server always may;
/// a peer must be joined and its role must grant it.
fn authorize(s: &RoomState, actor: &Actor, permission: Permission) -> Result<(), RoomError> {
    room(s)?;
    let Actor::Peer(id) = actor else {
        return Ok(());
    };
    let p = s
        .peers
        .get(id)
        .ok_or_else(|| RoomError::ActorNotInRoom(id.clone()))?;
    match s.role(&p.role) {
        Some(r) if r.permissions.grants(permission) => Ok(()),
        _ => Err(RoomError::PermissionDenied {
            permission: permission.as_str(),
        }),
    }
}

/// Refuses when `incoming` more peers in `role` would exceed its `maxPeerCount`.
fn check_capacity(s: &RoomState, name: &RoleName, incoming: usize) -> Result<(), RoomError> {
    let r = role(s, name)?;
    if let Some(limit) = r.peer_limit()
        && s.count_in_role(name) + incoming > limit as usize
    {
        return Err(RoomError::RoleFull {
            role: name.clone(),
            limit,
        });
    }
    Ok(())
}

/// `PeerLeft` for each leaving peer, then `SessionClosed` if nobody remains.
fn leave_events(
    s: &RoomState,
    leaving: &[&PeerId],
    reason: LeaveReason,
    message: Option<&str>,
    removed_by: Option<&Actor>,
    close_reason: SessionCloseReason,
    at: Timestamp,
) -> Vec<RoomEvent> {
    let Some(session) = &s.session else {
        return Vec::new();
    };
    let mut events: Vec<RoomEvent> = leaving
        .iter()
        .map(|id| {
            PeerLeft {
                peer_id: (*id).clone(),
                session_id: session.id.clone(),
                reason,
                message: message.map(str::to_owned),
                removed_by: removed_by.cloned(),
                at,
            }
            .into()
        })
        .collect();
    let remaining = s.peers.keys().filter(|id| !leaving.contains(id)).count();
    if remaining == 0 {
        events.push(
            SessionClosed {
                session_id: session.id.clone(),
                reason: close_reason,
                started_at: session.started_at,
                at,
            }
            .into(),
        );
    }
    events
}
