//! Role changes: polite request and acceptance, forced single and bulk.
//!
//! Every change re-checks the target role's `maxPeerCount` (also for the
//! server). Losing a publish right unpublishes the tracks the new role may not
//! publish; gaining one records the peer's first track of that kind muted.

use crate::actor::Actor;
use crate::ids::RoleName;
use crate::template::{Permission, PublishKind};
use crate::time::Timestamp;

use super::super::command::{
    AcceptRoleChange, ForceRoleChange, ForceRoleChangeBulk, RequestRoleChange,
};
use super::super::error::RoomError;
use super::super::events::{RoleChangeRequested, RoleChanged, RoomEvent, TrackUnpublished};
use super::super::model::{Peer, UnpublishReason};
use super::super::state::RoomState;
use super::{authorize, check_capacity, peer, role, room};

/// `TrackUnpublished` for tracks `to` may not publish, then `RoleChanged`.
fn change_events(
    s: &RoomState,
    p: &Peer,
    to: &RoleName,
    by: &Actor,
    forced: bool,
    at: Timestamp,
) -> Result<Vec<RoomEvent>, RoomError> {
    let new = role(s, to)?;
    let old_allows = |k: PublishKind| s.role(&p.role).is_some_and(|r| r.may_publish(k));
    let mut events: Vec<RoomEvent> = p
        .tracks
        .values()
        .filter(|t| !new.may_publish(t.publish_kind()))
        .map(|t| {
            TrackUnpublished {
                peer_id: p.id.clone(),
                track_id: t.id.clone(),
                reason: UnpublishReason::RoleChanged,
                at,
            }
            .into()
        })
        .collect();
    let start_muted = new
        .publish_params
        .allowed
        .iter()
        .copied()
        .filter(|k| *k != PublishKind::Simulcast)
        .filter(|k| p.start_muted.contains(k) || !old_allows(*k))
        .collect();
    events.push(
        RoleChanged {
            peer_id: p.id.clone(),
            from: p.role.clone(),
            to: to.clone(),
            by: by.clone(),
            forced,
            start_muted,
            at,
        }
        .into(),
    );
    Ok(events)
}

pub(super) fn request(s: &RoomState, c: &RequestRoleChange) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::ChangeRole)?;
    let p = peer(s, &c.peer_id)?;
    role(s, &c.role)?;
    if p.role == c.role {
        return Ok(vec![]);
    }
    Ok(vec![
        RoleChangeRequested {
            peer_id: c.peer_id.clone(),
            role: c.role.clone(),
            token: c.token.clone(),
            by: c.actor.clone(),
            at: c.at,
        }
        .into(),
    ])
}

pub(super) fn accept(s: &RoomState, c: &AcceptRoleChange) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    let p = peer(s, &c.peer_id)?;
    let req = p
        .role_change_requests
        .get(&c.token)
        .ok_or_else(|| RoomError::RoleChangeRequestNotFound(c.token.clone()))?;
    if p.role == req.role {
        return Ok(vec![]);
    }
    check_capacity(s, &req.role, 1)?;
    change_events(s, p, &req.role, &req.requested_by, false, c.at)
}

pub(super) fn force(s: &RoomState, c: &ForceRoleChange) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::ChangeRole)?;
    let p = peer(s, &c.peer_id)?;
    role(s, &c.role)?;
    if p.role == c.role {
        return Ok(vec![]);
    }
    check_capacity(s, &c.role, 1)?;
    change_events(s, p, &c.role, &c.actor, true, c.at)
}

/// All or nothing: if the movers do not all fit in the target role, nobody moves.
pub(super) fn force_bulk(
    s: &RoomState,
    c: &ForceRoleChangeBulk,
) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::ChangeRole)?;
    for r in &c.roles {
        role(s, r)?;
    }
    role(s, &c.role)?;
    let movers: Vec<&Peer> = s
        .peers
        .values()
        .filter(|p| p.role != c.role && c.roles.contains(&p.role))
        .collect();
    if movers.is_empty() {
        return Ok(vec![]);
    }
    check_capacity(s, &c.role, movers.len())?;
    let mut events = Vec::new();
    for p in movers {
        events.extend(change_events(s, p, &c.role, &c.actor, true, c.at)?);
    }
    Ok(events)
}
