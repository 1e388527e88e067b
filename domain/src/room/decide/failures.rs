//! Records of refusals: a refused join or role change becomes a fact of its
//! own (audits, `peer.join.failure` / `role.change.failure` webhooks) that
//! changes no state.

use crate::room::command::{MAX_FAILURE_REASON, RecordJoinFailure, RecordRoleChangeFailure};
use crate::room::error::RoomError;
use crate::room::events::{PeerJoinFailed, RoleChangeFailed, RoomEvent};
use crate::room::state::RoomState;

use super::room;

fn check_reason(reason: &str) -> Result<(), RoomError> {
    if reason.is_empty() || reason.len() > MAX_FAILURE_REASON {
        return Err(RoomError::Invalid {
            field: "reason",
            reason: format!("must be 1–{MAX_FAILURE_REASON} bytes"),
        });
    }
    Ok(())
}

pub(super) fn join(s: &RoomState, c: &RecordJoinFailure) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    check_reason(&c.reason)?;
    Ok(vec![
        PeerJoinFailed {
            peer_id: c.peer_id.clone(),
            user_id: c.user_id.clone(),
            name: c.name.clone(),
            metadata: c.metadata.clone(),
            role: c.role.clone(),
            reason: c.reason.clone(),
            at: c.at,
        }
        .into(),
    ])
}

pub(super) fn role_change(
    s: &RoomState,
    c: &RecordRoleChangeFailure,
) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    check_reason(&c.reason)?;
    Ok(vec![
        RoleChangeFailed {
            peer_id: c.peer_id.clone(),
            role: c.role.clone(),
            by: c.actor.clone(),
            reason: c.reason.clone(),
            at: c.at,
        }
        .into(),
    ])
}
