//! Client requests → room commands (docs/signalling.md §3). Pure: the caller
//! passes the peer, the time and freshly generated ids.

use std::collections::BTreeMap;

use caucus_domain::room::command::*;
use caucus_domain::room::model::{Peer, Recipients, TrackKind, TrackSource};
use caucus_domain::{
    Actor, MessageId, PeerId, RequestToken, RoleName, RoomCommand, StreamId, Timestamp, TrackId,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::rpc::RpcError;
use super::wire::TrackState;

/// Reads `params` as `T`, or a 400 naming the problem.
pub fn params<T: DeserializeOwned>(v: &Value) -> Result<T, RpcError> {
    T::deserialize(v).map_err(RpcError::invalid_params)
}

fn id<T>(
    parse: impl Fn(&str) -> Result<T, caucus_domain::IdError>,
    v: &str,
) -> Result<T, RpcError> {
    parse(v).map_err(RpcError::invalid_params)
}

/// `{tracks: {id: TrackState}}` with validated ids (the map key must equal
/// `track_id`).
pub fn track_map(v: &Value) -> Result<BTreeMap<TrackId, TrackState>, RpcError> {
    #[derive(Deserialize)]
    struct P {
        #[serde(default)]
        tracks: BTreeMap<String, TrackState>,
    }
    let p: P = params(v)?;
    let mut out = BTreeMap::new();
    for (key, t) in p.tracks {
        if key != t.track_id {
            return Err(RpcError::invalid_params(format!(
                "tracks: key {key} differs from its track_id {}",
                t.track_id
            )));
        }
        id(StreamId::parse_str, &t.stream_id)?;
        out.insert(id(TrackId::parse_str, &key)?, t);
    }
    Ok(out)
}

/// The QUIC `publish` fields of a track map (docs/quic-protocol.md §3):
/// each track's `alias` (unique), `codec` (`opus`, `vp8`, `h264`) and
/// `timescale` (Hz, above 0).
pub fn frame_tracks(v: &Value) -> Result<Vec<caucus_media::FrameTrack>, RpcError> {
    #[derive(Deserialize)]
    struct T {
        alias: u64,
        codec: String,
        timescale: u32,
        #[serde(rename = "type")]
        kind: TrackKind,
    }
    #[derive(Deserialize)]
    struct P {
        #[serde(default)]
        tracks: BTreeMap<String, T>,
    }
    let p: P = params(v)?;
    let mut aliases = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (key, t) in p.tracks {
        if !matches!(t.codec.as_str(), "opus" | "vp8" | "h264") {
            return Err(RpcError::invalid_params(format!(
                "tracks.{key}.codec: {} is not opus, vp8 or h264",
                t.codec
            )));
        }
        if t.timescale == 0 {
            return Err(RpcError::invalid_params(format!(
                "tracks.{key}.timescale must be above 0"
            )));
        }
        if !aliases.insert(t.alias) {
            return Err(RpcError::invalid_params(format!(
                "tracks.{key}.alias {} is used twice",
                t.alias
            )));
        }
        out.push(caucus_media::FrameTrack {
            track: id(TrackId::parse_str, &key)?,
            alias: t.alias,
            kind: t.kind,
            codec: t.codec,
            timescale: t.timescale,
        });
    }
    Ok(out)
}

/// What an `offer`'s (complete) track map asks for, against the peer's
/// published tracks: publish the new ones, apply mute changes, unpublish the
/// missing ones.
pub fn reconcile_tracks(
    peer: &Peer,
    wanted: &BTreeMap<TrackId, TrackState>,
    complete: bool,
    at: Timestamp,
) -> Result<Vec<RoomCommand>, RpcError> {
    let mut cmds = Vec::new();
    for (tid, t) in wanted {
        match peer.tracks.get(tid) {
            None if complete => cmds.push(
                PublishTrack {
                    peer_id: peer.id.clone(),
                    track_id: tid.clone(),
                    stream_id: id(StreamId::parse_str, &t.stream_id)?,
                    kind: t.kind,
                    source: t.source,
                    muted: t.mute,
                    description: t.description.clone(),
                    at,
                }
                .into(),
            ),
            None => {
                return Err(RpcError::new(404, format!("no published track {tid}")));
            }
            Some(have) if have.muted != t.mute => cmds.push(if t.mute {
                MuteTrack {
                    peer_id: peer.id.clone(),
                    track_id: tid.clone(),
                    at,
                }
                .into()
            } else {
                UnmuteTrack {
                    peer_id: peer.id.clone(),
                    track_id: tid.clone(),
                    at,
                }
                .into()
            }),
            Some(_) => {}
        }
    }
    if complete {
        for tid in peer.tracks.keys().filter(|t| !wanted.contains_key(*t)) {
            cmds.push(
                UnpublishTrack {
                    peer_id: peer.id.clone(),
                    track_id: tid.clone(),
                    at,
                }
                .into(),
            );
        }
    }
    Ok(cmds)
}

/// Fresh ids a control request may need.
#[derive(Clone, Debug)]
pub struct Fresh {
    pub token: RequestToken,
    pub message_id: MessageId,
}

/// The command of a control request (`end-room`, role changes, remote mute,
/// removal, `peer-update`, `broadcast`), or `None` for another method.
pub fn control(
    method: &str,
    me: &PeerId,
    p: &Value,
    fresh: Fresh,
    at: Timestamp,
) -> Option<Result<RoomCommand, RpcError>> {
    let actor = Actor::Peer(me.clone());
    let peer = |v: &str| id(PeerId::parse_str, v);
    let role = |v: &str| id(RoleName::parse_str, v);
    let r = match method {
        "end-room" => (|| {
            #[derive(Deserialize)]
            struct P {
                #[serde(default)]
                lock: bool,
                #[serde(default)]
                reason: String,
            }
            let p: P = params(p)?;
            Ok(EndRoom {
                actor,
                lock: p.lock,
                reason: p.reason,
                at,
            }
            .into())
        })(),
        "role-change-request" => (|| {
            #[derive(Deserialize)]
            struct P {
                requested_for: Option<String>,
                roles: Option<Vec<String>>,
                role: String,
                #[serde(default)]
                force: bool,
            }
            let p: P = params(p)?;
            let to = role(&p.role)?;
            match (p.requested_for, p.roles) {
                (Some(target), _) if p.force => Ok(ForceRoleChange {
                    actor,
                    peer_id: peer(&target)?,
                    role: to,
                    at,
                }
                .into()),
                (Some(target), _) => Ok(RequestRoleChange {
                    actor,
                    peer_id: peer(&target)?,
                    role: to,
                    token: fresh.token,
                    at,
                }
                .into()),
                (None, Some(roles)) => Ok(ForceRoleChangeBulk {
                    actor,
                    roles: roles.iter().map(|r| role(r)).collect::<Result<_, _>>()?,
                    role: to,
                    at,
                }
                .into()),
                (None, None) => Err(RpcError::invalid_params(
                    "requested_for or roles is required",
                )),
            }
        })(),
        "role-change" => (|| {
            #[derive(Deserialize)]
            struct P {
                token: String,
            }
            let p: P = params(p)?;
            Ok(AcceptRoleChange {
                peer_id: me.clone(),
                token: id(RequestToken::parse_str, &p.token)?,
                at,
            }
            .into())
        })(),
        "track-update-request" => (|| {
            #[derive(Deserialize)]
            struct P {
                requested_for: String,
                track_id: String,
                mute: bool,
            }
            let p: P = params(p)?;
            let (peer_id, track_id) = (
                peer(&p.requested_for)?,
                id(TrackId::parse_str, &p.track_id)?,
            );
            Ok(if p.mute {
                RequestTrackMute {
                    actor,
                    peer_id,
                    track_id,
                    at,
                }
                .into()
            } else {
                RequestTrackUnmute {
                    actor,
                    peer_id,
                    track_id,
                    at,
                }
                .into()
            })
        })(),
        "change-track-mute-state-request" => (|| {
            #[derive(Deserialize)]
            struct P {
                requested_for: Option<String>,
                roles: Option<Vec<String>>,
                #[serde(rename = "type")]
                kind: Option<TrackKind>,
                source: Option<TrackSource>,
                value: bool,
            }
            let p: P = params(p)?;
            Ok(ChangeTrackMuteState {
                actor,
                mute: p.value,
                peer_id: p.requested_for.as_deref().map(peer).transpose()?,
                roles: p
                    .roles
                    .map(|rs| rs.iter().map(|r| role(r)).collect::<Result<_, _>>())
                    .transpose()?,
                kind: p.kind,
                source: p.source,
                at,
            }
            .into())
        })(),
        "peer-leave-request" => (|| {
            #[derive(Deserialize)]
            struct P {
                requested_for: String,
                #[serde(default)]
                reason: String,
            }
            let p: P = params(p)?;
            Ok(RemovePeer {
                actor,
                peer_id: peer(&p.requested_for)?,
                message: p.reason,
                at,
            }
            .into())
        })(),
        "peer-update" => (|| {
            #[derive(Deserialize)]
            struct P {
                name: Option<String>,
                data: Option<String>,
            }
            let p: P = params(p)?;
            Ok(UpdatePeer {
                actor,
                peer_id: me.clone(),
                name: p.name,
                metadata: p.data,
                at,
            }
            .into())
        })(),
        "broadcast" => (|| {
            #[derive(Deserialize)]
            struct Info {
                message: Value,
                #[serde(rename = "type", default)]
                kind: Option<String>,
            }
            #[derive(Deserialize)]
            struct P {
                info: Info,
                roles: Option<Vec<String>>,
                peer_id: Option<String>,
            }
            let p: P = params(p)?;
            let recipients = match (p.peer_id, p.roles) {
                (Some(to), _) => Recipients::Peer(peer(&to)?),
                (None, Some(rs)) if !rs.is_empty() => {
                    Recipients::Roles(rs.iter().map(|r| role(r)).collect::<Result<_, _>>()?)
                }
                _ => Recipients::Everyone,
            };
            let message = match p.info.message {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Ok(BroadcastMessage {
                actor,
                message_id: fresh.message_id,
                recipients,
                message_type: p.info.kind.unwrap_or_else(|| "chat".into()),
                message,
                at,
            }
            .into())
        })(),
        _ => return None,
    };
    Some(r)
}
