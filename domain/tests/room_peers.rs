//! Peer rules: join, leave, update, remove, broadcast messages.

mod common;

use caucus_domain::room::*;
use caucus_domain::*;
use common::*;

#[test]
fn first_join_opens_a_session() {
    let state = given([room_created()])
        .when(join(1, "host", 10))
        .then([session_opened(10), peer_joined(1, "host", 10)]);
    assert_eq!(state.session.unwrap().id, session(1));
    assert_eq!(state.counters.sessions_opened, 1);
}

#[test]
fn later_joins_use_the_open_session() {
    let mut j = join(2, "guest", 11);
    j.session_id = session(9); // ignored: a session is open
    given(room_with(&[(1, "host")])).when(j).then([{
        let mut e = peer_joined(2, "guest", 11);
        if let RoomEvent::PeerJoined(p) = &mut e {
            p.session_id = session(1);
        }
        e
    }]);
}

#[test]
fn opening_join_takes_a_fresh_role_snapshot() {
    let mut fresh = roles();
    fresh.insert(rn("speaker"), role("speaker", &[], 0, Default::default()));
    let mut j = join(1, "speaker", 10);
    j.roles = Some(fresh.clone());
    let events = given([room_created()]).when(j).events();
    assert_eq!(
        events[0],
        SessionOpened {
            session_id: session(1),
            template_id: template_id(),
            roles: fresh,
            at: t(10)
        }
        .into()
    );
}

#[test]
fn fresh_roles_are_ignored_while_a_session_is_open() {
    let mut fresh = roles();
    fresh.insert(rn("speaker"), role("speaker", &[], 0, Default::default()));
    let mut j = join(2, "speaker", 11);
    j.roles = Some(fresh);
    given(room_with(&[(1, "host")]))
        .when(j)
        .then_err(RoomError::UnknownRole(rn("speaker")));
}

#[test]
fn join_into_a_disabled_room_is_refused() {
    given([room_created(), RoomDisabled { at: t(1) }.into()])
        .when(join(1, "host", 10))
        .then_err(RoomError::RoomDisabled);
}

#[test]
fn join_with_an_unknown_role_is_refused() {
    given([room_created()])
        .when(join(1, "nobody", 10))
        .then_err(RoomError::UnknownRole(rn("nobody")));
}

#[test]
fn join_beyond_max_peer_count_is_refused() {
    given(room_with(&[(1, "stage"), (2, "stage")]))
        .when(join(3, "stage", 11))
        .then_err(RoomError::RoleFull {
            role: rn("stage"),
            limit: 2,
        });
}

#[test]
fn join_with_a_role_nobody_may_hold_is_refused() {
    given([room_created()])
        .when(join(1, "blocked", 10))
        .then_err(RoomError::RoleFull {
            role: rn("blocked"),
            limit: 0,
        });
}

#[test]
fn join_with_a_duplicate_peer_id_is_refused() {
    given(room_with(&[(1, "host")]))
        .when(join(1, "guest", 11))
        .then_err(RoomError::DuplicatePeer(peer(1)));
}

#[test]
fn join_beyond_the_room_size_is_refused() {
    let mut created = room_created();
    if let RoomEvent::RoomCreated(c) = &mut created {
        c.settings.size = 1;
    }
    given([
        created.clone(),
        session_opened(10),
        peer_joined(1, "host", 10),
    ])
    .when(join(2, "guest", 11))
    .then_err(RoomError::RoomFull { size: 1 });
}

#[test]
fn leave_records_the_reason() {
    for reason in [
        LeaveReason::ClientRequest,
        LeaveReason::WebsocketClosed,
        LeaveReason::IceConnectionStateClosed,
        LeaveReason::ServerRemovedPeer,
        LeaveReason::PeerKicked,
    ] {
        given(room_with(&[(1, "host"), (2, "guest")]))
            .when(LeavePeer {
                peer_id: peer(2),
                reason,
                at: t(20),
            })
            .then([left(2, reason, None, None, 20)]);
    }
    assert_eq!(
        LeaveReason::IceConnectionStateClosed.as_str(),
        "ice connection state closed"
    );
}

#[test]
fn last_leave_closes_the_session() {
    let state = given(room_with(&[(1, "host")]))
        .when(LeavePeer {
            peer_id: peer(1),
            reason: LeaveReason::ClientRequest,
            at: t(20),
        })
        .then([
            left(1, LeaveReason::ClientRequest, None, None, 20),
            closed(SessionCloseReason::LastPeerLeft, 20),
        ]);
    assert!(state.session.is_none());
}

#[test]
fn leave_of_an_unknown_peer_is_refused() {
    given(room_with(&[(1, "host")]))
        .when(LeavePeer {
            peer_id: peer(2),
            reason: LeaveReason::ClientRequest,
            at: t(20),
        })
        .then_err(RoomError::PeerNotFound(peer(2)));
}

#[test]
fn a_peer_leaves_with_its_tracks() {
    let mut events = room_with(&[(1, "host"), (2, "guest")]);
    events.push(published(
        2,
        1,
        TrackKind::Audio,
        TrackSource::Regular,
        false,
    ));
    let state = given(events)
        .when(LeavePeer {
            peer_id: peer(2),
            reason: LeaveReason::ClientRequest,
            at: t(20),
        })
        .state_after();
    assert!(state.peers.values().all(|p| p.tracks.is_empty()));
}

fn update_peer(actor: Actor, n: u32) -> UpdatePeer {
    UpdatePeer {
        actor,
        peer_id: peer(n),
        name: Some("New".into()),
        metadata: Some("{\"x\":1}".into()),
        at: t(20),
    }
}

#[test]
fn a_peer_updates_its_own_name_and_metadata() {
    let state = given(room_with(&[(1, "guest")]))
        .when(update_peer(as_peer(1), 1))
        .then([PeerUpdated {
            peer_id: peer(1),
            name: Some("New".into()),
            metadata: Some("{\"x\":1}".into()),
            by: as_peer(1),
            at: t(20),
        }]);
    assert_eq!(state.peers[&peer(1)].name, "New");
}

#[test]
fn the_server_updates_any_peer() {
    assert_eq!(
        given(room_with(&[(1, "guest")]))
            .when(update_peer(Actor::Server, 1))
            .events()
            .len(),
        1
    );
}

#[test]
fn a_peer_cannot_update_another_peer() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(update_peer(as_peer(1), 2))
        .then_err(RoomError::NotOwnPeer);
}

#[test]
fn an_unchanged_update_records_nothing() {
    let u = UpdatePeer {
        actor: as_peer(1),
        peer_id: peer(1),
        name: Some("peer 1".into()),
        metadata: None,
        at: t(20),
    };
    given(room_with(&[(1, "guest")])).when(u).then_nothing();
}

fn remove(actor: Actor, n: u32) -> RemovePeer {
    RemovePeer {
        actor,
        peer_id: peer(n),
        message: "spam".into(),
        at: t(20),
    }
}

#[test]
fn remove_peer_kicks_with_a_message() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(remove(as_peer(1), 2))
        .then([left(
            2,
            LeaveReason::PeerKicked,
            Some("spam"),
            Some(as_peer(1)),
            20,
        )]);
}

#[test]
fn remove_peer_needs_remove_others() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(remove(as_peer(2), 1))
        .then_err(RoomError::PermissionDenied {
            permission: "removeOthers",
        });
}

#[test]
fn an_actor_that_is_not_joined_has_no_permissions() {
    given(room_with(&[(1, "host")]))
        .when(remove(as_peer(9), 1))
        .then_err(RoomError::ActorNotInRoom(peer(9)));
}

#[test]
fn removing_the_last_peer_closes_the_session() {
    let events = given(room_with(&[(1, "guest")]))
        .when(remove(Actor::Server, 1))
        .events();
    assert_eq!(
        events.last(),
        Some(&closed(SessionCloseReason::LastPeerLeft, 20))
    );
}

#[test]
fn remove_peers_with_role_removes_all_of_them() {
    given(room_with(&[(1, "host"), (2, "guest"), (3, "guest")]))
        .when(RemovePeersWithRole {
            actor: Actor::Server,
            role: rn("guest"),
            message: "bye".into(),
            at: t(20),
        })
        .then([
            left(
                2,
                LeaveReason::PeerKicked,
                Some("bye"),
                Some(Actor::Server),
                20,
            ),
            left(
                3,
                LeaveReason::PeerKicked,
                Some("bye"),
                Some(Actor::Server),
                20,
            ),
        ]);
}

fn broadcast(actor: Actor, recipients: Recipients, message: &str) -> BroadcastMessage {
    BroadcastMessage {
        actor,
        message_id: message_id(1),
        recipients,
        message_type: "chat".into(),
        message: message.into(),
        at: t(20),
    }
}

#[test]
fn broadcast_is_recorded_with_its_targets() {
    let state = given(room_with(&[(1, "host"), (2, "guest")]))
        .when(broadcast(
            as_peer(2),
            Recipients::Roles(vec![rn("host")]),
            "hi",
        ))
        .then([MessageBroadcast {
            message_id: message_id(1),
            session_id: session(1),
            sender: as_peer(2),
            recipients: Recipients::Roles(vec![rn("host")]),
            message_type: "chat".into(),
            message: "hi".into(),
            at: t(20),
        }]);
    assert_eq!(state.counters.messages_sent, 1);
}

#[test]
fn broadcast_over_4kb_is_refused() {
    let big = "x".repeat(4_097);
    given(room_with(&[(1, "host")]))
        .when(broadcast(as_peer(1), Recipients::Everyone, &big))
        .then_err(RoomError::MessageTooLarge {
            size: 4_097,
            max: 4_096,
        });
    let max = "x".repeat(4_096);
    given(room_with(&[(1, "host")]))
        .when(broadcast(as_peer(1), Recipients::Everyone, &max))
        .events();
}

#[test]
fn broadcast_to_an_unknown_peer_or_role_is_refused() {
    given(room_with(&[(1, "host")]))
        .when(broadcast(as_peer(1), Recipients::Peer(peer(5)), "hi"))
        .then_err(RoomError::PeerNotFound(peer(5)));
    given(room_with(&[(1, "host")]))
        .when(broadcast(
            as_peer(1),
            Recipients::Roles(vec![rn("nope")]),
            "hi",
        ))
        .then_err(RoomError::UnknownRole(rn("nope")));
}

#[test]
fn broadcast_without_a_session_is_refused() {
    given([room_created()])
        .when(broadcast(Actor::Server, Recipients::Everyone, "hi"))
        .then_err(RoomError::NoActiveSession);
}
