//! Peers: join, leave, update, remove; and messages.

use std::borrow::Cow;

use crate::actor::Actor;
use crate::template::Permission;

use super::super::command::{
    BroadcastMessage, JoinPeer, LeavePeer, RemovePeer, RemovePeersWithRole, UpdatePeer,
};
use super::super::error::RoomError;
use super::super::events::{MessageBroadcast, PeerJoined, PeerUpdated, RoomEvent, SessionOpened};
use super::super::evolve::apply;
use super::super::model::{LeaveReason, MAX_MESSAGE_BYTES, Recipients, SessionCloseReason};
use super::super::state::RoomState;
use super::rooms::{expiry_events, session_expired};
use super::{authorize, leave_events, peer, role, room};

pub(super) fn join(s: &RoomState, c: &JoinPeer) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    // Nobody joins an overdue session: close it first, then open a new one.
    let mut events = Vec::new();
    let mut state = Cow::Borrowed(s);
    if session_expired(s, c.at) {
        events = expiry_events(s, c.at);
        let st = state.to_mut();
        for e in &events {
            apply(st, e);
        }
    }
    let s = state.as_ref();
    let r = room(s)?;
    if !r.enabled {
        return Err(RoomError::RoomDisabled);
    }
    if s.peers.contains_key(&c.peer_id) {
        return Err(RoomError::DuplicatePeer(c.peer_id.clone()));
    }
    let opening = s.session.is_none();
    let roles = match (&c.roles, opening) {
        (Some(fresh), true) => fresh,
        _ => &r.roles,
    };
    let role = roles
        .get(&c.role)
        .ok_or_else(|| RoomError::UnknownRole(c.role.clone()))?;
    if let Some(limit) = role.peer_limit()
        && s.count_in_role(&c.role) >= limit as usize
    {
        return Err(RoomError::RoleFull {
            role: c.role.clone(),
            limit,
        });
    }
    let size = r.settings.size;
    if size > 0 && s.peers.len() >= size as usize {
        return Err(RoomError::RoomFull { size });
    }
    let session_id = match &s.session {
        Some(open) => open.id.clone(),
        None => {
            events.push(
                SessionOpened {
                    session_id: c.session_id.clone(),
                    template_id: r.template_id.clone(),
                    roles: roles.clone(),
                    at: c.at,
                }
                .into(),
            );
            c.session_id.clone()
        }
    };
    events.push(
        PeerJoined {
            peer_id: c.peer_id.clone(),
            session_id,
            user_id: c.user_id.clone(),
            name: c.name.clone(),
            metadata: c.metadata.clone(),
            role: c.role.clone(),
            at: c.at,
        }
        .into(),
    );
    Ok(events)
}

pub(super) fn leave(s: &RoomState, c: &LeavePeer) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    peer(s, &c.peer_id)?;
    Ok(leave_events(
        s,
        &[&c.peer_id],
        c.reason,
        None,
        None,
        SessionCloseReason::LastPeerLeft,
        c.at,
    ))
}

pub(super) fn update(s: &RoomState, c: &UpdatePeer) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    if let Actor::Peer(a) = &c.actor
        && *a != c.peer_id
    {
        if !s.peers.contains_key(a) {
            return Err(RoomError::ActorNotInRoom(a.clone()));
        }
        return Err(RoomError::NotOwnPeer);
    }
    let p = peer(s, &c.peer_id)?;
    let name = c.name.clone().filter(|n| *n != p.name);
    let metadata = c.metadata.clone().filter(|m| *m != p.metadata);
    if name.is_none() && metadata.is_none() {
        return Ok(vec![]);
    }
    Ok(vec![
        PeerUpdated {
            peer_id: c.peer_id.clone(),
            name,
            metadata,
            by: c.actor.clone(),
            at: c.at,
        }
        .into(),
    ])
}

pub(super) fn remove(s: &RoomState, c: &RemovePeer) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::RemoveOthers)?;
    peer(s, &c.peer_id)?;
    Ok(leave_events(
        s,
        &[&c.peer_id],
        LeaveReason::PeerKicked,
        Some(&c.message),
        Some(&c.actor),
        SessionCloseReason::LastPeerLeft,
        c.at,
    ))
}

pub(super) fn remove_with_role(
    s: &RoomState,
    c: &RemovePeersWithRole,
) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::RemoveOthers)?;
    role(s, &c.role)?;
    let targets: Vec<_> = s
        .peers
        .values()
        .filter(|p| p.role == c.role)
        .map(|p| &p.id)
        .collect();
    if targets.is_empty() {
        return Ok(vec![]);
    }
    Ok(leave_events(
        s,
        &targets,
        LeaveReason::PeerKicked,
        Some(&c.message),
        Some(&c.actor),
        SessionCloseReason::LastPeerLeft,
        c.at,
    ))
}

pub(super) fn broadcast(s: &RoomState, c: &BroadcastMessage) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    if let Actor::Peer(a) = &c.actor
        && !s.peers.contains_key(a)
    {
        return Err(RoomError::ActorNotInRoom(a.clone()));
    }
    let session = s.session.as_ref().ok_or(RoomError::NoActiveSession)?;
    if c.message.len() > MAX_MESSAGE_BYTES {
        return Err(RoomError::MessageTooLarge {
            size: c.message.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    match &c.recipients {
        Recipients::Everyone => {}
        Recipients::Peer(p) => {
            peer(s, p)?;
        }
        Recipients::Roles(roles) => {
            for r in roles {
                role(s, r)?;
            }
        }
    }
    Ok(vec![
        MessageBroadcast {
            message_id: c.message_id.clone(),
            session_id: session.id.clone(),
            sender: c.actor.clone(),
            recipients: c.recipients.clone(),
            message_type: c.message_type.clone(),
            message: c.message.clone(),
            at: c.at,
        }
        .into(),
    ])
}
