//! Tracks: publish, unpublish, own mute/unmute, and remote mute/unmute.

use crate::actor::Actor;
use crate::ids::{PeerId, TrackId};
use crate::template::Permission;
use crate::time::Timestamp;

use super::super::command::{
    ChangeTrackMuteState, PublishTrack, RequestTrackMute, RequestTrackUnmute, UnpublishTrack,
};
use super::super::error::RoomError;
use super::super::events::{
    RoomEvent, TrackMuted, TrackPublished, TrackUnmuteRequested, TrackUnmuted, TrackUnpublished,
};
use super::super::model::{Track, UnpublishReason, publish_kind};
use super::super::state::RoomState;
use super::{authorize, peer, role, room};

fn track<'a>(s: &'a RoomState, p: &PeerId, t: &TrackId) -> Result<&'a Track, RoomError> {
    peer(s, p)?
        .tracks
        .get(t)
        .ok_or_else(|| RoomError::TrackNotFound(t.clone()))
}

pub(super) fn publish(s: &RoomState, c: &PublishTrack) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    let p = peer(s, &c.peer_id)?;
    if s.peers.values().any(|q| q.tracks.contains_key(&c.track_id)) {
        return Err(RoomError::DuplicateTrack(c.track_id.clone()));
    }
    let kind = publish_kind(c.kind, c.source);
    if !s.role(&p.role).is_some_and(|r| r.may_publish(kind)) {
        return Err(RoomError::NotAllowedToPublish { kind });
    }
    Ok(vec![
        TrackPublished {
            peer_id: c.peer_id.clone(),
            track_id: c.track_id.clone(),
            stream_id: c.stream_id.clone(),
            kind: c.kind,
            source: c.source,
            muted: c.muted || p.start_muted.contains(&kind),
            description: c.description.clone(),
            at: c.at,
        }
        .into(),
    ])
}

pub(super) fn unpublish(s: &RoomState, c: &UnpublishTrack) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    track(s, &c.peer_id, &c.track_id)?;
    Ok(vec![
        TrackUnpublished {
            peer_id: c.peer_id.clone(),
            track_id: c.track_id.clone(),
            reason: UnpublishReason::ClientRequest,
            at: c.at,
        }
        .into(),
    ])
}

/// The owner mutes or unmutes its own track; no event if already so.
pub(super) fn mute_own(
    s: &RoomState,
    p: &PeerId,
    t: &TrackId,
    mute: bool,
    at: Timestamp,
) -> Result<Vec<RoomEvent>, RoomError> {
    room(s)?;
    let tr = track(s, p, t)?;
    if tr.muted == mute {
        return Ok(vec![]);
    }
    let (peer_id, track_id) = (p.clone(), t.clone());
    Ok(vec![if mute {
        TrackMuted {
            peer_id: peer_id.clone(),
            track_id,
            by: Actor::Peer(peer_id),
            at,
        }
        .into()
    } else {
        TrackUnmuted {
            peer_id,
            track_id,
            at,
        }
        .into()
    }])
}

pub(super) fn request_mute(
    s: &RoomState,
    c: &RequestTrackMute,
) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::Mute)?;
    if track(s, &c.peer_id, &c.track_id)?.muted {
        return Ok(vec![]);
    }
    Ok(vec![
        TrackMuted {
            peer_id: c.peer_id.clone(),
            track_id: c.track_id.clone(),
            by: c.actor.clone(),
            at: c.at,
        }
        .into(),
    ])
}

pub(super) fn request_unmute(
    s: &RoomState,
    c: &RequestTrackUnmute,
) -> Result<Vec<RoomEvent>, RoomError> {
    authorize(s, &c.actor, Permission::Unmute)?;
    if !track(s, &c.peer_id, &c.track_id)?.muted {
        return Ok(vec![]);
    }
    Ok(vec![
        TrackUnmuteRequested {
            peer_id: c.peer_id.clone(),
            track_id: c.track_id.clone(),
            by: c.actor.clone(),
            at: c.at,
        }
        .into(),
    ])
}

/// Bulk: mute (applied) or request unmute of every matching track of every
/// other peer.
pub(super) fn change_mute_state(
    s: &RoomState,
    c: &ChangeTrackMuteState,
) -> Result<Vec<RoomEvent>, RoomError> {
    let permission = if c.mute {
        Permission::Mute
    } else {
        Permission::Unmute
    };
    authorize(s, &c.actor, permission)?;
    if let Some(p) = &c.peer_id {
        peer(s, p)?;
    }
    if let Some(roles) = &c.roles {
        for r in roles {
            role(s, r)?;
        }
    }
    let mut events = Vec::new();
    for p in s.peers.values() {
        if Some(&p.id) == c.actor.peer()
            || c.peer_id.as_ref().is_some_and(|id| *id != p.id)
            || c.roles.as_ref().is_some_and(|rs| !rs.contains(&p.role))
        {
            continue;
        }
        for t in p.tracks.values() {
            if c.kind.is_some_and(|k| k != t.kind)
                || c.source.is_some_and(|src| src != t.source)
                || t.muted == c.mute
            {
                continue;
            }
            let (peer_id, track_id, by, at) = (p.id.clone(), t.id.clone(), c.actor.clone(), c.at);
            events.push(if c.mute {
                TrackMuted {
                    peer_id,
                    track_id,
                    by,
                    at,
                }
                .into()
            } else {
                TrackUnmuteRequested {
                    peer_id,
                    track_id,
                    by,
                    at,
                }
                .into()
            });
        }
    }
    Ok(events)
}
