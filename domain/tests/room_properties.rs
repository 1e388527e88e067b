//! Property tests over random command sequences: `decide` never panics, the
//! state's invariants always hold, no accepted action lacks its permission, and
//! folding the emitted events (also after an encode/decode round trip)
//! reproduces the state built step by step.

mod common;

use caucus_domain::room::*;
use caucus_domain::template::{Permission, PublishKind};
use caucus_domain::*;
use common::*;
use proptest::prelude::*;

const PEERS: u32 = 6;
const ROLES: [&str; 6] = ["host", "guest", "viewer", "stage", "blocked", "moderator"];

fn all_roles() -> template::Roles {
    let mut r = roles();
    let perms = template::Permissions {
        mute: true,
        change_role: true,
        ..Default::default()
    };
    r.insert(
        rn("moderator"),
        role("moderator", &[PublishKind::Audio], 1, perms),
    );
    r
}

/// One random step: small indices mapped onto a command.
#[derive(Clone, Debug)]
struct Step {
    kind: u8,
    a: u32,
    b: u32,
    role: usize,
    track: u32,
    flag: bool,
    dt: i64,
}

/// Mostly a few seconds between steps, sometimes a jump past a short session.
fn step() -> impl Strategy<Value = Step> {
    (
        0u8..28,
        0..=PEERS,
        0..PEERS,
        0..ROLES.len(),
        0u32..6,
        any::<bool>(),
        0i64..100,
    )
        .prop_map(|(kind, a, b, role, track, flag, dt)| {
            let dt = if dt >= 97 { 150 } else { dt / 20 };
            Step {
                kind,
                a,
                b,
                role,
                track,
                flag,
                dt,
            }
        })
}

fn actor(a: u32) -> Actor {
    if a == PEERS {
        Actor::Server
    } else {
        as_peer(a)
    }
}

fn kind_source(n: usize) -> (TrackKind, TrackSource) {
    [
        (TrackKind::Audio, TrackSource::Regular),
        (TrackKind::Video, TrackSource::Regular),
        (TrackKind::Video, TrackSource::Screen),
        (TrackKind::Audio, TrackSource::Screen),
        (TrackKind::Video, TrackSource::VideoPlaylist),
        (TrackKind::Audio, TrackSource::AudioPlaylist),
    ][n % 6]
}

fn command(s: &Step, i: u32, now: Timestamp) -> RoomCommand {
    let r = |n: usize| rn(ROLES[n % ROLES.len()]);
    let peer_a = peer(s.a % PEERS);
    match s.kind {
        0 => CreateRoom {
            room_id: room_id(),
            workspace_id: workspace_id(),
            name: "prop".into(),
            description: String::new(),
            template_id: template_id(),
            roles: all_roles(),
            settings: RoomSettings {
                size: if s.flag { 4 } else { 0 },
                max_duration_seconds: if s.track == 0 { 120 } else { 43_200 },
                ..Default::default()
            },
            at: now,
        }
        .into(),
        1 => {
            let mut roles = all_roles();
            roles.get_mut(&r(s.role)).unwrap().max_peer_count = s.track as i32 - 1;
            if s.flag {
                roles.get_mut(&rn("guest")).unwrap().publish_params.allowed =
                    vec![PublishKind::Audio];
            }
            UpdateRoom {
                name: Some(format!("prop-{}", s.b)),
                description: None,
                template: Some(TemplateSnapshot {
                    template_id: template_id(),
                    roles,
                }),
                settings: None,
                at: now,
            }
            .into()
        }
        2 => EnableRoom { at: now }.into(),
        3 => DisableRoom { at: now }.into(),
        4..=6 => {
            let mut j = join(s.a % PEERS, ROLES[s.role], 0);
            j.session_id = session(i);
            j.at = now;
            if s.flag {
                j.roles = Some(all_roles());
            }
            j.into()
        }
        7 => {
            let reason = [
                LeaveReason::ClientRequest,
                LeaveReason::WebsocketClosed,
                LeaveReason::IceConnectionStateClosed,
            ][s.role % 3];
            LeavePeer {
                peer_id: peer_a,
                reason,
                at: now,
            }
            .into()
        }
        8 => UpdatePeer {
            actor: actor(s.a),
            peer_id: peer(s.b),
            name: Some(format!("n{i}")),
            metadata: None,
            at: now,
        }
        .into(),
        9 | 10 => {
            let (kind, source) = kind_source(s.role);
            let mut p = publish(s.a % PEERS, s.track, kind, source, 0);
            p.at = now;
            p.muted = s.flag;
            p.into()
        }
        11 => UnpublishTrack {
            peer_id: peer_a,
            track_id: track(s.track),
            at: now,
        }
        .into(),
        12 => MuteTrack {
            peer_id: peer_a,
            track_id: track(s.track),
            at: now,
        }
        .into(),
        13 => UnmuteTrack {
            peer_id: peer_a,
            track_id: track(s.track),
            at: now,
        }
        .into(),
        14 => RequestTrackMute {
            actor: actor(s.a),
            peer_id: peer(s.b),
            track_id: track(s.track),
            at: now,
        }
        .into(),
        15 => RequestTrackUnmute {
            actor: actor(s.a),
            peer_id: peer(s.b),
            track_id: track(s.track),
            at: now,
        }
        .into(),
        16 => ChangeTrackMuteState {
            actor: actor(s.a),
            mute: s.flag,
            peer_id: None,
            roles: s.track.is_multiple_of(2).then(|| vec![r(s.role)]),
            kind: None,
            source: None,
            at: now,
        }
        .into(),
        17 => RequestRoleChange {
            actor: actor(s.a),
            peer_id: peer(s.b),
            role: r(s.role),
            token: token(s.track),
            at: now,
        }
        .into(),
        18 => AcceptRoleChange {
            peer_id: peer(s.b),
            token: token(s.track),
            at: now,
        }
        .into(),
        19 => ForceRoleChange {
            actor: actor(s.a),
            peer_id: peer(s.b),
            role: r(s.role),
            at: now,
        }
        .into(),
        20 => ForceRoleChangeBulk {
            actor: actor(s.a),
            roles: vec![r(s.role)],
            role: r(s.role + 1),
            at: now,
        }
        .into(),
        21 => RemovePeer {
            actor: actor(s.a),
            peer_id: peer(s.b),
            message: "out".into(),
            at: now,
        }
        .into(),
        22 => RemovePeersWithRole {
            actor: actor(s.a),
            role: r(s.role),
            message: "out".into(),
            at: now,
        }
        .into(),
        23 => EndRoom {
            actor: actor(s.a),
            lock: s.flag,
            reason: "end".into(),
            at: now,
        }
        .into(),
        24 => BroadcastMessage {
            actor: actor(s.a),
            message_id: message_id(i),
            recipients: if s.flag {
                Recipients::Everyone
            } else {
                Recipients::Roles(vec![r(s.role)])
            },
            message_type: "chat".into(),
            message: "hi".into(),
            at: now,
        }
        .into(),
        25 => RecordJoinFailure {
            peer_id: peer(s.a),
            user_id: user(s.a),
            name: "late".into(),
            metadata: String::new(),
            role: r(s.role),
            reason: "refused".into(),
            at: now,
        }
        .into(),
        26 => RecordRoleChangeFailure {
            actor: actor(s.a),
            peer_id: peer(s.b),
            role: r(s.role),
            reason: "refused".into(),
            at: now,
        }
        .into(),
        _ => Tick { now }.into(),
    }
}

fn check_invariants(s: &RoomState) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        s.session.is_some(),
        !s.peers.is_empty(),
        "session open iff peers present"
    );
    let Some(room) = &s.room else {
        prop_assert!(s.peers.is_empty());
        return Ok(());
    };
    if room.settings.size > 0 {
        prop_assert!(s.peers.len() <= room.settings.size as usize);
    }
    let mut track_ids = std::collections::BTreeSet::new();
    for p in s.peers.values() {
        let role = room.roles.get(&p.role);
        prop_assert!(
            role.is_some(),
            "peer {} holds unknown role {}",
            p.id,
            p.role
        );
        for t in p.tracks.values() {
            prop_assert!(
                role.unwrap().may_publish(t.publish_kind()),
                "track {} not publishable",
                t.id
            );
            prop_assert!(track_ids.insert(t.id.clone()), "track {} owned twice", t.id);
        }
    }
    for (name, count) in s.role_counts() {
        if let Some(limit) = room.roles[name].peer_limit() {
            prop_assert!(
                count <= limit as usize,
                "{} peers in {} over {}",
                count,
                name,
                limit
            );
        }
    }
    Ok(())
}

/// The permission a command's actor needs, if any.
fn needed(cmd: &RoomCommand) -> Option<(&Actor, Permission)> {
    Some(match cmd {
        RoomCommand::RequestTrackMute(c) => (&c.actor, Permission::Mute),
        RoomCommand::RequestTrackUnmute(c) => (&c.actor, Permission::Unmute),
        RoomCommand::ChangeTrackMuteState(c) => (
            &c.actor,
            if c.mute {
                Permission::Mute
            } else {
                Permission::Unmute
            },
        ),
        RoomCommand::RequestRoleChange(c) => (&c.actor, Permission::ChangeRole),
        RoomCommand::ForceRoleChange(c) => (&c.actor, Permission::ChangeRole),
        RoomCommand::ForceRoleChangeBulk(c) => (&c.actor, Permission::ChangeRole),
        RoomCommand::RemovePeer(c) => (&c.actor, Permission::RemoveOthers),
        RoomCommand::RemovePeersWithRole(c) => (&c.actor, Permission::RemoveOthers),
        RoomCommand::EndRoom(c) => (&c.actor, Permission::EndRoom),
        _ => return None,
    })
}

fn check_authorized(
    before: &RoomState,
    cmd: &RoomCommand,
    events: &[RoomEvent],
) -> Result<(), TestCaseError> {
    if events.is_empty() {
        return Ok(());
    }
    if let Some((Actor::Peer(p), permission)) = needed(cmd) {
        let granted = before
            .role_of(p)
            .is_some_and(|r| r.permissions.grants(permission));
        prop_assert!(
            granted,
            "{:?} accepted without {}",
            cmd,
            permission.as_str()
        );
    }
    match cmd {
        RoomCommand::UpdatePeer(c) => {
            if let Actor::Peer(a) = &c.actor {
                prop_assert_eq!(a, &c.peer_id, "peer updated someone else");
            }
        }
        RoomCommand::UnpublishTrack(UnpublishTrack {
            peer_id, track_id, ..
        })
        | RoomCommand::MuteTrack(MuteTrack {
            peer_id, track_id, ..
        })
        | RoomCommand::UnmuteTrack(UnmuteTrack {
            peer_id, track_id, ..
        }) => {
            let owns = before
                .peers
                .get(peer_id)
                .is_some_and(|p| p.tracks.contains_key(track_id));
            prop_assert!(owns, "{:?} accepted on a track the peer does not own", cmd);
        }
        RoomCommand::JoinPeer(_) => {
            prop_assert!(
                before.room.as_ref().is_some_and(|r| r.enabled),
                "join into a disabled room"
            );
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(
        create_first in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..80),
    ) {
        let mut state = RoomState::default();
        let mut log: Vec<RoomEvent> = Vec::new();
        let mut now = t(0);
        let first = Step { kind: 0, a: 0, b: 0, role: 0, track: 0, flag: false, dt: 0 };
        let all = create_first.then_some(first).into_iter().chain(steps);
        for (i, s) in all.enumerate() {
            now = now.plus_seconds(s.dt);
            let cmd = command(&s, i as u32, now);
            let before = state.clone();
            match room::decide(&state, &cmd) {
                Ok(events) => {
                    check_authorized(&before, &cmd, &events)?;
                    for e in &events {
                        state = room::evolve(state, e);
                    }
                    log.extend(events);
                }
                Err(_) => prop_assert_eq!(&state, &before),
            }
            check_invariants(&state)?;
        }
        prop_assert_eq!(&Room::fold(log.iter()), &state, "fold of the log differs from the live state");
        let decoded: Vec<RoomEvent> = log
            .iter()
            .map(|e| RoomEvent::decode(e.event_type(), e.schema_version(), &e.encode()).unwrap())
            .collect();
        prop_assert_eq!(&decoded, &log);
    }
}

/// The generator is only worth something if it reaches every event type.
#[test]
fn random_sequences_reach_every_event_type() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec(step(), 0..80);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..600 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let mut state = RoomState::default();
        let mut now = t(0);
        let first = Step {
            kind: 0,
            a: 0,
            b: 0,
            role: 0,
            track: 0,
            flag: false,
            dt: 0,
        };
        for (i, s) in std::iter::once(first).chain(steps).enumerate() {
            now = now.plus_seconds(s.dt);
            if let Ok(events) = room::decide(&state, &command(&s, i as u32, now)) {
                for e in &events {
                    seen.insert(e.event_type());
                    state = room::evolve(state, e);
                }
            }
        }
    }
    let missing: Vec<_> = RoomEvent::TYPES
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !seen.contains(t))
        .collect();
    assert!(missing.is_empty(), "never produced: {missing:?}");
}
