//! Room lifecycle: create, update, enable/disable, end, and session expiry.

use crate::actor::Actor;
use crate::template::Permission;
use crate::time::Timestamp;

use super::super::command::{CreateRoom, EndRoom, Tick, UpdateRoom};
use super::super::error::RoomError;
use super::super::events::{
    RoomCreated, RoomDisabled, RoomEnabled, RoomEnded, RoomEvent, RoomUpdated,
};
use super::super::model::{
    LeaveReason, MAX_DURATION_MESSAGE, MAX_LARGE_ROOM_SIZE, MAX_ROOM_SIZE, MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS, RoomSettings, SessionCloseReason, TemplateSnapshot,
};
use super::super::state::RoomState;
use super::{authorize, leave_events, room};

/// Longest room name, in characters.
pub const MAX_ROOM_NAME_LEN: usize = 100;

fn validate_name(name: &str) -> Result<(), RoomError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if name.is_empty() || name.chars().count() > MAX_ROOM_NAME_LEN || !name.chars().all(ok) {
        return Err(RoomError::Invalid {
            field: "name",
            reason: "use 1-100 characters of a-z A-Z 0-9 . - : _".into(),
        });
    }
    Ok(())
}

fn validate_settings(st: &RoomSettings) -> Result<(), RoomError> {
    let d = st.max_duration_seconds;
    if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&d) {
        return Err(RoomError::OutOfRange {
            field: "max_duration_seconds",
            min: MIN_SESSION_SECONDS.into(),
            max: MAX_SESSION_SECONDS.into(),
            value: d.into(),
        });
    }
    let max = if st.large_room {
        MAX_LARGE_ROOM_SIZE
    } else {
        MAX_ROOM_SIZE
    };
    if st.size > max {
        return Err(RoomError::OutOfRange {
            field: "size",
            min: 0,
            max: max.into(),
            value: st.size.into(),
        });
    }
    Ok(())
}

pub(super) fn create(s: &RoomState, c: &CreateRoom) -> Result<Vec<RoomEvent>, RoomError> {
    if let Some(r) = &s.room {
        return Err(RoomError::RoomAlreadyExists(r.id.clone()));
    }
    validate_name(&c.name)?;
    validate_settings(&c.settings)?;
    Ok(vec![
        RoomCreated {
            room_id: c.room_id.clone(),
            workspace_id: c.workspace_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            template_id: c.template_id.clone(),
            roles: c.roles.clone(),
            settings: c.settings.clone(),
            at: c.at,
        }
        .into(),
    ])
}

/// A new role snapshot must keep every joined peer valid: its role exists, the
/// role's limit holds, and its tracks are still publishable.
fn check_snapshot(s: &RoomState, t: &TemplateSnapshot) -> Result<(), RoomError> {
    for (name, count) in s.role_counts() {
        let in_use = || RoomError::RoleInUse { role: name.clone() };
        let r = t.roles.get(name).ok_or_else(in_use)?;
        if r.peer_limit().is_some_and(|l| count > l as usize) {
            return Err(in_use());
        }
    }
    for p in s.peers.values() {
        let Some(r) = t.roles.get(&p.role) else {
            continue;
        };
        if p.tracks
            .values()
            .any(|tr| !r.may_publish(tr.publish_kind()))
        {
            return Err(RoomError::RoleInUse {
                role: p.role.clone(),
            });
        }
    }
    Ok(())
}

pub(super) fn update(s: &RoomState, c: &UpdateRoom) -> Result<Vec<RoomEvent>, RoomError> {
    let r = room(s)?;
    if let Some(n) = &c.name {
        validate_name(n)?;
    }
    if let Some(st) = &c.settings {
        validate_settings(st)?;
    }
    if let Some(t) = &c.template {
        check_snapshot(s, t)?;
    }
    let changed = RoomUpdated {
        name: c.name.clone().filter(|n| *n != r.name),
        description: c.description.clone().filter(|d| *d != r.description),
        template: c
            .template
            .clone()
            .filter(|t| t.template_id != r.template_id || t.roles != r.roles),
        settings: c.settings.clone().filter(|st| *st != r.settings),
        at: c.at,
    };
    let nothing = changed.name.is_none()
        && changed.description.is_none()
        && changed.template.is_none()
        && changed.settings.is_none();
    Ok(if nothing {
        vec![]
    } else {
        vec![changed.into()]
    })
}

pub(super) fn set_enabled(
    s: &RoomState,
    enabled: bool,
    at: Timestamp,
) -> Result<Vec<RoomEvent>, RoomError> {
    let r = room(s)?;
    Ok(match (r.enabled, enabled) {
        (false, true) => vec![RoomEnabled { at }.into()],
        (true, false) => vec![RoomDisabled { at }.into()],
        _ => vec![],
    })
}

pub(super) fn end(s: &RoomState, c: &EndRoom) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::EndRoom)?;
    let r = room(s)?;
    let session = s.session.as_ref().ok_or(RoomError::NoActiveSession)?;
    let mut events: Vec<RoomEvent> = vec![
        RoomEnded {
            session_id: session.id.clone(),
            by: c.actor.clone(),
            lock: c.lock,
            reason: c.reason.clone(),
            at: c.at,
        }
        .into(),
    ];
    let everyone: Vec<_> = s.peers.keys().collect();
    events.extend(leave_events(
        s,
        &everyone,
        LeaveReason::ServerRemovedPeer,
        Some(&c.reason),
        Some(&c.actor),
        SessionCloseReason::RoomEnded,
        c.at,
    ));
    if c.lock && r.enabled {
        events.push(RoomDisabled { at: c.at }.into());
    }
    Ok(events)
}

/// Whether the open session has reached the room's maximum duration at `now`.
pub(super) fn session_expired(s: &RoomState, now: Timestamp) -> bool {
    match (&s.room, &s.session) {
        (Some(r), Some(session)) => {
            now >= session
                .started_at
                .plus_seconds(r.settings.max_duration_seconds.into())
        }
        _ => false,
    }
}

/// Everyone leaves ("server removed peer", "max duration reached") and the
/// session closes.
pub(super) fn expiry_events(s: &RoomState, now: Timestamp) -> Vec<RoomEvent> {
    let everyone: Vec<_> = s.peers.keys().collect();
    leave_events(
        s,
        &everyone,
        LeaveReason::ServerRemovedPeer,
        Some(MAX_DURATION_MESSAGE),
        Some(&Actor::Server),
        SessionCloseReason::MaxDurationReached,
        now,
    )
}

pub(super) fn tick(s: &RoomState, c: &Tick) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    Ok(if session_expired(s, c.now) {
        expiry_events(s, c.now)
    } else {
        vec![]
    })
}
