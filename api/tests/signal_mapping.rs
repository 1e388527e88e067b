//! The pure parts of signalling: which notifications each room event causes
//! and for whom, how requests become commands, and the forwarding plan a room
//! implies.

use caucus_api::signal::notify::{Audience, notifications};
use caucus_api::signal::requests::{self, Fresh};
use caucus_domain::room::command::*;
use caucus_domain::room::model::{LeaveReason, RoomSettings, TrackKind, TrackSource};
use caucus_domain::template::{PublishKind, Role, Roles};
use caucus_domain::{
    Actor, Aggregate, MessageId, PeerId, RequestToken, RoleName, Room, RoomCommand, RoomEvent,
    RoomId, RoomState, SessionId, StreamId, TemplateId, Timestamp, TrackId, UserId, WorkspaceId,
};
use caucus_media::ForwardingPlan;
use serde_json::{Value, json};

/// Each event of a command with its notifications (audience, method, params).
type Steps = Vec<(RoomEvent, Vec<(Audience, &'static str, Value)>)>;

const A: &str = "00000000-0000-4000-8000-00000000000a";
const B: &str = "00000000-0000-4000-8000-00000000000b";
const V: &str = "00000000-0000-4000-8000-00000000000c";

fn peer(p: &str) -> PeerId {
    PeerId::new(p).unwrap()
}

fn at() -> Timestamp {
    Timestamp::from_unix_micros(1_700_000_000_000_000)
}

fn roles() -> Roles {
    let mut host = Role::new(RoleName::new("host").unwrap());
    host.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Video];
    host.subscribe_params.subscribe_to_roles = vec![RoleName::new("host").unwrap()];
    host.permissions.mute = true;
    host.permissions.remove_others = true;
    host.permissions.end_room = true;
    host.permissions.change_role = true;
    let mut viewer = Role::new(RoleName::new("viewer").unwrap());
    viewer.subscribe_params.subscribe_to_roles = vec![RoleName::new("host").unwrap()];
    [host, viewer]
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect()
}

/// Runs `cmd`; returns its events and, per event, the notifications.
fn run(s: &mut RoomState, cmd: impl Into<RoomCommand>) -> Steps {
    let events = Room::decide(s, &cmd.into()).expect("accepted");
    events
        .into_iter()
        .map(|e| {
            let before = s.clone();
            Room::apply(s, &e);
            let n = notifications(&e, &before, s)
                .into_iter()
                .map(|o| (o.to, o.method, o.params))
                .collect();
            (e, n)
        })
        .collect()
}

fn join(s: &mut RoomState, p: &str, role: &str) -> Steps {
    run(
        s,
        JoinPeer {
            peer_id: peer(p),
            user_id: UserId::new(format!("user-{p}")).unwrap(),
            name: format!("name-{role}"),
            metadata: "{}".into(),
            role: RoleName::new(role).unwrap(),
            session_id: SessionId::new("65f0c2a1b2c3d4e5f6a7b8c9").unwrap(),
            roles: None,
            at: at(),
        },
    )
}

fn room() -> RoomState {
    let mut s = RoomState::default();
    run(
        &mut s,
        CreateRoom {
            room_id: RoomId::new("65f0c2a1b2c3d4e5f6a7b8c0").unwrap(),
            workspace_id: WorkspaceId::new("65f0c2a1b2c3d4e5f6a7b8c1").unwrap(),
            name: "r".into(),
            description: String::new(),
            template_id: TemplateId::new("65f0c2a1b2c3d4e5f6a7b8c2").unwrap(),
            roles: roles(),
            settings: RoomSettings::default(),
            at: at(),
        },
    );
    s
}

fn publish(s: &mut RoomState, p: &str, t: &str) -> Steps {
    run(
        s,
        PublishTrack {
            peer_id: peer(p),
            track_id: TrackId::new(t).unwrap(),
            stream_id: StreamId::new("stream").unwrap(),
            kind: TrackKind::Audio,
            source: TrackSource::Regular,
            muted: false,
            description: String::new(),
            at: at(),
        },
    )
}

#[test]
fn joins_tracks_and_mutes_notify_the_others_and_a_remote_mute_tells_the_owner() {
    let mut s = room();
    join(&mut s, A, "host");
    let joined = join(&mut s, B, "host");
    let (_, n) = joined.last().unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0, Audience::EveryoneExcept(peer(B)));
    assert_eq!(n[0].1, "on-peer-join");
    assert_eq!(n[0].2["peer_id"], B);
    assert_eq!(n[0].2["info"]["user_id"], format!("user-{B}"));
    assert_eq!(n[0].2["joined_at"], 1_700_000_000_000i64);

    let published = publish(&mut s, A, "mic");
    let (_, n) = &published[0];
    assert_eq!(
        (n[0].0.clone(), n[0].1),
        (Audience::EveryoneExcept(peer(A)), "on-track-add")
    );
    assert_eq!(
        n[0].2["tracks"]["mic"],
        json!({"track_id": "mic", "stream_id": "stream", "mute": false, "type": "audio", "source": "regular", "description": ""})
    );

    // B mutes A's mic: everyone else sees the update, A is told to mute.
    let muted = run(
        &mut s,
        RequestTrackMute {
            actor: Actor::Peer(peer(B)),
            peer_id: peer(A),
            track_id: TrackId::new("mic").unwrap(),
            at: at(),
        },
    );
    let (_, n) = &muted[0];
    let methods: Vec<_> = n.iter().map(|(to, m, _)| (to.clone(), *m)).collect();
    assert_eq!(
        methods,
        [
            (Audience::EveryoneExcept(peer(A)), "on-track-update"),
            (Audience::Only(peer(A)), "on-track-update-request"),
        ]
    );
    assert_eq!(n[1].2["mute"], true);
    assert_eq!(n[1].2["requested_by"], B);
}

#[test]
fn removal_and_end_of_room_close_the_leaving_peers() {
    let mut s = room();
    join(&mut s, A, "host");
    join(&mut s, B, "host");
    join(&mut s, V, "viewer");
    let removed = run(
        &mut s,
        RemovePeer {
            actor: Actor::Peer(peer(A)),
            peer_id: peer(B),
            message: "bye".into(),
            at: at(),
        },
    );
    let (_, n) = &removed[0];
    assert_eq!(n[0].1, "on-peer-leave");
    assert!(n[0].0.includes(&peer(A)) && !n[0].0.includes(&peer(B)));
    assert_eq!(
        (n[1].0.clone(), n[1].1),
        (Audience::Only(peer(B)), "on-peer-leave-request")
    );
    assert_eq!(
        n[1].2,
        json!({"requested_by": A, "reason": "bye", "room_end": false})
    );

    let ended = run(
        &mut s,
        EndRoom {
            actor: Actor::Peer(peer(A)),
            lock: false,
            reason: "done".into(),
            at: at(),
        },
    );
    let (e, n) = &ended[0];
    assert!(matches!(e, RoomEvent::RoomEnded(_)));
    assert_eq!(n[0].1, "on-peer-leave-request");
    assert_eq!(n[0].2["room_end"], true);
    assert!(n[0].0.includes(&peer(A)) && n[0].0.includes(&peer(V)));
    assert!(s.peers.is_empty());

    // A leave by the peer itself sends no leave request.
    join(&mut s, A, "host");
    join(&mut s, B, "host");
    let left = run(
        &mut s,
        LeavePeer {
            peer_id: peer(B),
            reason: LeaveReason::ClientRequest,
            at: at(),
        },
    );
    assert_eq!(left[0].1.len(), 1);
    assert_eq!(left[0].1[0].1, "on-peer-leave");
}

#[test]
fn role_change_requests_go_to_the_target_and_broadcasts_to_their_recipients() {
    let mut s = room();
    join(&mut s, A, "host");
    join(&mut s, V, "viewer");
    let asked = run(
        &mut s,
        RequestRoleChange {
            actor: Actor::Peer(peer(A)),
            peer_id: peer(V),
            role: RoleName::new("host").unwrap(),
            token: RequestToken::new("tok-1").unwrap(),
            at: at(),
        },
    );
    assert_eq!(asked[0].1[0].0, Audience::Only(peer(V)));
    assert_eq!(
        asked[0].1[0].2,
        json!({"requested_by": A, "role": "host", "token": "tok-1"})
    );
    let changed = run(
        &mut s,
        AcceptRoleChange {
            peer_id: peer(V),
            token: RequestToken::new("tok-1").unwrap(),
            at: at(),
        },
    );
    let (_, n) = changed.last().unwrap();
    // The peer's policy names its new role before anyone hears of the change.
    assert_eq!(
        (n[0].0.clone(), n[0].1),
        (Audience::Only(peer(V)), "on-policy-change")
    );
    assert_eq!(n[0].2["name"], "host");
    assert_eq!(n[1].1, "on-peer-update");
    assert_eq!(n[1].2["role"], "host");
    assert_eq!(
        (n[2].0.clone(), n[2].1),
        (Audience::Only(peer(V)), "on-role-change")
    );

    let sent = run(
        &mut s,
        BroadcastMessage {
            actor: Actor::Peer(peer(A)),
            message_id: MessageId::new("00000000-0000-4000-8000-0000000000ff").unwrap(),
            recipients: caucus_domain::room::model::Recipients::Peer(peer(V)),
            message_type: "chat".into(),
            message: "hi".into(),
            at: at(),
        },
    );
    let (_, n) = &sent[0];
    assert_eq!(n[0].0, Audience::Only(peer(V)));
    assert_eq!(n[0].2["private"], true);
    assert_eq!(n[0].2["info"], json!({"message": "hi", "type": "chat"}));
    assert_eq!(n[0].2["peer"]["peer_id"], A);
}

#[test]
fn requests_become_commands_and_bad_params_are_400() {
    let me = peer(A);
    let fresh = || Fresh {
        token: RequestToken::new("t").unwrap(),
        message_id: MessageId::new("00000000-0000-4000-8000-0000000000ff").unwrap(),
    };
    let cmd = |m: &str, p: Value| requests::control(m, &me, &p, fresh(), at());
    assert!(matches!(
        cmd(
            "role-change-request",
            json!({"requested_for": B, "role": "viewer", "force": true})
        ),
        Some(Ok(RoomCommand::ForceRoleChange(_)))
    ));
    assert!(matches!(
        cmd(
            "role-change-request",
            json!({"requested_for": B, "role": "viewer", "force": false})
        ),
        Some(Ok(RoomCommand::RequestRoleChange(_)))
    ));
    assert!(matches!(
        cmd(
            "role-change-request",
            json!({"roles": ["host"], "role": "viewer"})
        ),
        Some(Ok(RoomCommand::ForceRoleChangeBulk(_)))
    ));
    assert!(matches!(
        cmd("change-track-mute-state-request", json!({"value": true, "type": "audio"})),
        Some(Ok(RoomCommand::ChangeTrackMuteState(c))) if c.mute && c.kind == Some(TrackKind::Audio)
    ));
    assert!(matches!(
        cmd("broadcast", json!({"info": {"message": "x"}})),
        Some(Ok(RoomCommand::BroadcastMessage(c))) if c.message_type == "chat"
    ));
    for (m, p) in [
        ("role-change-request", json!({"role": "viewer"})),
        (
            "role-change-request",
            json!({"requested_for": "nope", "role": "viewer"}),
        ),
        ("track-update-request", json!({"requested_for": B})),
        ("peer-update", json!({"name": 5})),
        ("end-room", json!("not an object")),
    ] {
        let e = cmd(m, p).expect("known").expect_err("refused");
        assert_eq!(e.code, 400, "{m}: {e}");
    }
    assert!(cmd("hls-start", json!({})).is_none());

    // Track maps: the key must be the track id.
    let bad = json!({"tracks": {"a": {"track_id": "b", "stream_id": "s", "type": "audio"}}});
    assert_eq!(requests::track_map(&bad).unwrap_err().code, 400);
}

#[test]
fn the_plan_follows_subscribe_roles_and_mute() {
    let mut s = room();
    join(&mut s, A, "host");
    join(&mut s, B, "host");
    join(&mut s, V, "viewer");
    publish(&mut s, A, "mic");
    let plan = ForwardingPlan::from_room(&s);
    let mic = &plan.tracks[&TrackId::new("mic").unwrap()];
    assert_eq!(mic.publisher, peer(A));
    assert_eq!(
        mic.subscribers.iter().cloned().collect::<Vec<_>>(),
        [peer(B), peer(V)]
    );
    assert!(!mic.muted);
    run(
        &mut s,
        MuteTrack {
            peer_id: peer(A),
            track_id: TrackId::new("mic").unwrap(),
            at: at(),
        },
    );
    assert!(ForwardingPlan::from_room(&s).tracks[&TrackId::new("mic").unwrap()].muted);
}
