//! Which notifications a room event causes, and for whom (docs/signalling.md
//! §4). Pure: the hub calls it with the room's state before and after the
//! event.

use caucus_domain::room::model::Recipients;
use caucus_domain::{Actor, PeerId, RoomEvent, RoomState};
use serde_json::{Value, json};

use super::wire;

/// Who, among the room's connected peers, receives a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    EveryoneExcept(PeerId),
    Only(PeerId),
    Peers(Vec<PeerId>),
}

impl Audience {
    pub fn includes(&self, peer: &PeerId) -> bool {
        match self {
            Self::Everyone => true,
            Self::EveryoneExcept(p) => p != peer,
            Self::Only(p) => p == peer,
            Self::Peers(ps) => ps.contains(peer),
        }
    }
}

/// One notification to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub to: Audience,
    pub method: &'static str,
    pub params: Value,
    /// The receiving peer's session ends after sending this (removal, end of
    /// the room).
    pub closes: bool,
}

fn out(to: Audience, method: &'static str, params: Value) -> Outgoing {
    Outgoing {
        to,
        method,
        params,
        closes: false,
    }
}

fn requested_by(actor: &Actor) -> Value {
    actor.peer().map_or(Value::Null, |p| json!(p.as_str()))
}

/// `on-track-update-request` params: the owner of `track` is asked (or told)
/// to mute or unmute it.
pub fn track_update_request(by: Value, track_id: &str, stream_id: &str, mute: bool) -> Value {
    json!({
        "requested_by": by,
        "track_id": track_id,
        "stream_id": stream_id,
        "mute": mute,
    })
}

/// The notifications of `event`, given the room's state before and after it.
pub fn notifications(event: &RoomEvent, before: &RoomState, after: &RoomState) -> Vec<Outgoing> {
    use Audience::*;
    match event {
        RoomEvent::RoomUpdated(e) if e.template.is_some() => after
            .peers
            .values()
            .map(|p| {
                out(
                    Only(p.id.clone()),
                    "on-policy-change",
                    wire::policy(after, &p.role),
                )
            })
            .collect(),
        RoomEvent::PeerJoined(e) => after
            .peers
            .get(&e.peer_id)
            .map(|p| {
                out(
                    EveryoneExcept(e.peer_id.clone()),
                    "on-peer-join",
                    wire::peer(p),
                )
            })
            .into_iter()
            .collect(),
        RoomEvent::PeerLeft(e) => {
            let Some(p) = before.peers.get(&e.peer_id) else {
                return Vec::new();
            };
            let mut v = vec![out(
                EveryoneExcept(e.peer_id.clone()),
                "on-peer-leave",
                wire::peer_info(p),
            )];
            if let Some(by) = &e.removed_by {
                v.push(Outgoing {
                    to: Only(e.peer_id.clone()),
                    method: "on-peer-leave-request",
                    params: json!({
                        "requested_by": requested_by(by),
                        "reason": e.message.clone().unwrap_or_default(),
                        "room_end": false,
                    }),
                    closes: true,
                });
            }
            v
        }
        RoomEvent::PeerUpdated(e) => peer_update(after, &e.peer_id),
        RoomEvent::RoleChanged(e) => {
            // The peer's own policy names its new role first, then everyone
            // (the peer included) hears of the change.
            let mut v = vec![out(
                Only(e.peer_id.clone()),
                "on-policy-change",
                wire::policy(after, &e.to),
            )];
            v.extend(peer_update(after, &e.peer_id));
            v.push(out(
                Only(e.peer_id.clone()),
                "on-role-change",
                json!({ "peer_id": e.peer_id.as_str(), "role": e.to.as_str() }),
            ));
            v
        }
        RoomEvent::TrackPublished(e) => track(after, &e.peer_id, &e.track_id, "on-track-add")
            .into_iter()
            .collect(),
        RoomEvent::TrackMuted(e) => {
            let mut v: Vec<Outgoing> = track(after, &e.peer_id, &e.track_id, "on-track-update")
                .into_iter()
                .collect();
            // A remote mute: the owner's client mutes its own track too.
            let t = after
                .peers
                .get(&e.peer_id)
                .and_then(|p| p.tracks.get(&e.track_id));
            if let (Some(t), true) = (t, e.by.peer() != Some(&e.peer_id)) {
                v.push(out(
                    Only(e.peer_id.clone()),
                    "on-track-update-request",
                    track_update_request(
                        requested_by(&e.by),
                        t.id.as_str(),
                        t.stream_id.as_str(),
                        true,
                    ),
                ));
            }
            v
        }
        RoomEvent::TrackUnmuted(e) => track(after, &e.peer_id, &e.track_id, "on-track-update")
            .into_iter()
            .collect(),
        RoomEvent::TrackUnpublished(e) => track(before, &e.peer_id, &e.track_id, "on-track-remove")
            .into_iter()
            .collect(),
        RoomEvent::TrackUnmuteRequested(e) => {
            let Some(t) = after
                .peers
                .get(&e.peer_id)
                .and_then(|p| p.tracks.get(&e.track_id))
            else {
                return Vec::new();
            };
            vec![out(
                Only(e.peer_id.clone()),
                "on-track-update-request",
                track_update_request(
                    requested_by(&e.by),
                    t.id.as_str(),
                    t.stream_id.as_str(),
                    false,
                ),
            )]
        }
        RoomEvent::RoleChangeRequested(e) => vec![out(
            Only(e.peer_id.clone()),
            "on-role-change-request",
            json!({
                "requested_by": requested_by(&e.by),
                "role": e.role.as_str(),
                "token": e.token.as_str(),
            }),
        )],
        RoomEvent::RoomEnded(e) => vec![Outgoing {
            to: Peers(before.peers.keys().cloned().collect()),
            method: "on-peer-leave-request",
            params: json!({
                "requested_by": requested_by(&e.by),
                "reason": e.reason,
                "room_end": true,
            }),
            closes: true,
        }],
        RoomEvent::MessageBroadcast(e) => {
            let sender = e.sender.peer().and_then(|p| after.peers.get(p));
            let (to, roles, private) = match &e.recipients {
                Recipients::Everyone => (Everyone, None, false),
                Recipients::Peer(p) => (Only(p.clone()), None, true),
                Recipients::Roles(rs) => (
                    Peers(
                        after
                            .peers
                            .values()
                            .filter(|p| rs.contains(&p.role))
                            .map(|p| p.id.clone())
                            .collect(),
                    ),
                    Some(rs.iter().map(|r| r.as_str().to_owned()).collect::<Vec<_>>()),
                    false,
                ),
            };
            let mut params = json!({
                "message_id": e.message_id.as_str(),
                "private": private,
                "timestamp": wire::millis(e.at),
                "info": { "message": e.message, "type": e.message_type },
            });
            if let Value::Object(m) = &mut params {
                if let Some(p) = sender {
                    m.insert("peer".into(), wire::peer_info(p));
                }
                if let Some(rs) = roles {
                    m.insert("roles".into(), json!(rs));
                }
            }
            vec![out(to, "on-broadcast", params)]
        }
        _ => Vec::new(),
    }
}

fn peer_update(state: &RoomState, peer: &PeerId) -> Vec<Outgoing> {
    state
        .peers
        .get(peer)
        .map(|p| out(Audience::Everyone, "on-peer-update", wire::peer_info(p)))
        .into_iter()
        .collect()
}

fn track(
    state: &RoomState,
    peer: &PeerId,
    track: &caucus_domain::TrackId,
    method: &'static str,
) -> Option<Outgoing> {
    let p = state.peers.get(peer)?;
    let t = p.tracks.get(track)?;
    Some(out(
        Audience::EveryoneExcept(peer.clone()),
        method,
        wire::track_notification(p, [t]),
    ))
}
