//! Records of refused joins and role changes: accepted whenever the room
//! exists, they change no state.

mod common;

use caucus_domain::room::*;
use caucus_domain::*;
use common::*;

fn join_failure(reason: &str) -> RecordJoinFailure {
    RecordJoinFailure {
        peer_id: peer(3),
        user_id: user(3),
        name: "Carol".into(),
        metadata: "{}".into(),
        role: rn("guest"),
        reason: reason.into(),
        at: t(20),
    }
}

#[test]
fn a_refused_join_is_recorded_and_changes_nothing() {
    let before = given(room_with(&[(1, "host")])).state().clone();
    let state = given(room_with(&[(1, "host")]))
        .when(join_failure("role guest is full"))
        .then([PeerJoinFailed {
            peer_id: peer(3),
            user_id: user(3),
            name: "Carol".into(),
            metadata: "{}".into(),
            role: rn("guest"),
            reason: "role guest is full".into(),
            at: t(20),
        }]);
    assert_eq!(state, before);
}

#[test]
fn a_refused_role_change_is_recorded_and_changes_nothing() {
    let before = given(room_with(&[(1, "host"), (2, "guest")]))
        .state()
        .clone();
    let state = given(room_with(&[(1, "host"), (2, "guest")]))
        .when(RecordRoleChangeFailure {
            actor: as_peer(1),
            peer_id: peer(2),
            role: rn("host"),
            reason: "role host is full".into(),
            at: t(20),
        })
        .then([RoleChangeFailed {
            peer_id: peer(2),
            role: rn("host"),
            by: as_peer(1),
            reason: "role host is full".into(),
            at: t(20),
        }]);
    assert_eq!(state, before);
}

#[test]
fn failures_need_a_room_and_a_reason() {
    let none: [RoomEvent; 0] = [];
    assert_eq!(
        Room::decide(given(none).state(), &join_failure("x").into()),
        Err(RoomError::RoomNotFound)
    );
    for reason in [String::new(), "x".repeat(MAX_FAILURE_REASON + 1)] {
        assert!(matches!(
            Room::decide(
                given([room_created()]).state(),
                &join_failure(&reason).into()
            ),
            Err(RoomError::Invalid {
                field: "reason",
                ..
            })
        ));
    }
}
