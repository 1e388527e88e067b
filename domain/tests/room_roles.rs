//! Role change rules: request and accept, force single and bulk, limits, and
//! what happens to tracks.

mod common;

use caucus_domain::room::*;
use caucus_domain::template::PublishKind;
use caucus_domain::*;
use common::*;

fn request(actor: Actor, n: u32, role: &str) -> RequestRoleChange {
    RequestRoleChange {
        actor,
        peer_id: peer(n),
        role: rn(role),
        token: token(1),
        at: t(20),
    }
}

fn requested(n: u32, role: &str, by: Actor) -> RoomEvent {
    RoleChangeRequested {
        peer_id: peer(n),
        role: rn(role),
        token: token(1),
        by,
        at: t(20),
    }
    .into()
}

fn changed(
    n: u32,
    from: &str,
    to: &str,
    by: Actor,
    forced: bool,
    start_muted: &[PublishKind],
    at: i64,
) -> RoomEvent {
    RoleChanged {
        peer_id: peer(n),
        from: rn(from),
        to: rn(to),
        by,
        forced,
        start_muted: start_muted.to_vec(),
        at: t(at),
    }
    .into()
}

fn accept(n: u32, at: i64) -> AcceptRoleChange {
    AcceptRoleChange {
        peer_id: peer(n),
        token: token(1),
        at: t(at),
    }
}

fn force(actor: Actor, n: u32, role: &str) -> ForceRoleChange {
    ForceRoleChange {
        actor,
        peer_id: peer(n),
        role: rn(role),
        at: t(20),
    }
}

#[test]
fn a_role_change_request_waits_for_consent() {
    let state = given(room_with(&[(1, "host"), (2, "viewer")]))
        .when(request(as_peer(1), 2, "guest"))
        .then([requested(2, "guest", as_peer(1))]);
    let p = &state.peers[&peer(2)];
    assert_eq!(p.role, rn("viewer"));
    assert!(p.role_change_requests.contains_key(&token(1)));
}

#[test]
fn a_role_change_request_needs_change_role() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(request(as_peer(2), 1, "viewer"))
        .then_err(RoomError::PermissionDenied {
            permission: "changeRole",
        });
}

#[test]
fn a_request_for_an_unknown_role_is_refused() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(request(as_peer(1), 2, "ghost"))
        .then_err(RoomError::UnknownRole(rn("ghost")));
}

#[test]
fn accepting_with_the_token_changes_the_role() {
    let mut events = room_with(&[(1, "host"), (2, "viewer")]);
    events.push(requested(2, "guest", as_peer(1)));
    let state = given(events).when(accept(2, 21)).then([changed(
        2,
        "viewer",
        "guest",
        as_peer(1),
        false,
        &[PublishKind::Audio, PublishKind::Video],
        21,
    )]);
    let p = &state.peers[&peer(2)];
    assert_eq!(p.role, rn("guest"));
    assert!(p.role_change_requests.is_empty());
}

#[test]
fn accepting_with_a_wrong_token_is_refused() {
    let mut events = room_with(&[(1, "host"), (2, "viewer")]);
    events.push(requested(2, "guest", as_peer(1)));
    given(events)
        .when(AcceptRoleChange {
            peer_id: peer(2),
            token: token(2),
            at: t(21),
        })
        .then_err(RoomError::RoleChangeRequestNotFound(token(2)));
}

#[test]
fn accepting_rechecks_the_role_limit() {
    let mut events = room_with(&[(1, "host"), (2, "viewer"), (3, "stage"), (4, "stage")]);
    events.push(requested(2, "stage", as_peer(1)));
    given(events)
        .when(accept(2, 21))
        .then_err(RoomError::RoleFull {
            role: rn("stage"),
            limit: 2,
        });
}

#[test]
fn a_forced_change_applies_at_once() {
    given(room_with(&[(1, "host"), (2, "viewer")]))
        .when(force(as_peer(1), 2, "stage"))
        .then([changed(
            2,
            "viewer",
            "stage",
            as_peer(1),
            true,
            &[PublishKind::Audio],
            20,
        )]);
}

#[test]
fn a_forced_change_needs_change_role_unless_the_server_asks() {
    given(room_with(&[(1, "guest"), (2, "viewer")]))
        .when(force(as_peer(1), 2, "guest"))
        .then_err(RoomError::PermissionDenied {
            permission: "changeRole",
        });
    given(room_with(&[(1, "guest"), (2, "viewer")]))
        .when(force(Actor::Server, 2, "guest"))
        .then([changed(
            2,
            "viewer",
            "guest",
            Actor::Server,
            true,
            &[PublishKind::Audio, PublishKind::Video],
            20,
        )]);
}

#[test]
fn the_server_does_not_bypass_role_limits() {
    given(room_with(&[(2, "viewer")]))
        .when(force(Actor::Server, 2, "blocked"))
        .then_err(RoomError::RoleFull {
            role: rn("blocked"),
            limit: 0,
        });
}

#[test]
fn forcing_the_current_role_records_nothing() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(force(as_peer(1), 2, "guest"))
        .then_nothing();
}

#[test]
fn losing_a_publish_right_unpublishes_those_tracks() {
    let mut events = room_with(&[(1, "host"), (2, "guest")]);
    events.push(published(
        2,
        1,
        TrackKind::Audio,
        TrackSource::Regular,
        false,
    ));
    events.push(published(
        2,
        2,
        TrackKind::Video,
        TrackSource::Regular,
        false,
    ));
    let state = given(events).when(force(as_peer(1), 2, "stage")).then([
        TrackUnpublished {
            peer_id: peer(2),
            track_id: track(2),
            reason: UnpublishReason::RoleChanged,
            at: t(20),
        }
        .into(),
        changed(2, "guest", "stage", as_peer(1), true, &[], 20),
    ]);
    let tracks: Vec<_> = state.peers[&peer(2)].tracks.keys().cloned().collect();
    assert_eq!(tracks, [track(1)]);
}

#[test]
fn after_gaining_a_publish_right_the_first_track_starts_muted() {
    let mut events = room_with(&[(1, "host"), (2, "viewer")]);
    events.push(changed(
        2,
        "viewer",
        "guest",
        as_peer(1),
        true,
        &[PublishKind::Audio, PublishKind::Video],
        20,
    ));
    let state = given(events)
        .when(publish(2, 1, TrackKind::Audio, TrackSource::Regular, 21))
        .then([published(2, 1, TrackKind::Audio, TrackSource::Regular, true).with_at(21)]);
    assert_eq!(state.peers[&peer(2)].start_muted, [PublishKind::Video]);
    // The next audio track is published as asked.
    let mut g = state;
    g = caucus_domain::room::evolve(
        g,
        &published(2, 9, TrackKind::Video, TrackSource::Regular, true),
    );
    assert!(g.peers[&peer(2)].start_muted.is_empty());
}

trait WithAt {
    fn with_at(self, at: i64) -> Self;
}

impl WithAt for RoomEvent {
    fn with_at(mut self, at: i64) -> Self {
        if let RoomEvent::TrackPublished(e) = &mut self {
            e.at = t(at);
        }
        self
    }
}

#[test]
fn bulk_force_moves_every_peer_of_the_given_roles() {
    given(room_with(&[
        (1, "host"),
        (2, "guest"),
        (3, "viewer"),
        (4, "stage"),
    ]))
    .when(ForceRoleChangeBulk {
        actor: as_peer(1),
        roles: vec![rn("guest"), rn("viewer")],
        role: rn("stage"),
        at: t(20),
    })
    .then_err(RoomError::RoleFull {
        role: rn("stage"),
        limit: 2,
    });
    let state = given(room_with(&[(1, "host"), (2, "guest"), (3, "viewer")]))
        .when(ForceRoleChangeBulk {
            actor: as_peer(1),
            roles: vec![rn("guest"), rn("viewer")],
            role: rn("stage"),
            at: t(20),
        })
        .then([
            changed(2, "guest", "stage", as_peer(1), true, &[], 20),
            changed(
                3,
                "viewer",
                "stage",
                as_peer(1),
                true,
                &[PublishKind::Audio],
                20,
            ),
        ]);
    assert_eq!(state.count_in_role(&rn("stage")), 2);
}

#[test]
fn bulk_force_needs_change_role() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(ForceRoleChangeBulk {
            actor: as_peer(2),
            roles: vec![rn("host")],
            role: rn("viewer"),
            at: t(20),
        })
        .then_err(RoomError::PermissionDenied {
            permission: "changeRole",
        });
}

#[test]
fn a_role_change_drops_pending_requests() {
    let mut events = room_with(&[(1, "host"), (2, "viewer")]);
    events.push(requested(2, "guest", as_peer(1)));
    events.push(changed(
        2,
        "viewer",
        "stage",
        as_peer(1),
        true,
        &[PublishKind::Audio],
        21,
    ));
    given(events)
        .when(accept(2, 22))
        .then_err(RoomError::RoleChangeRequestNotFound(token(1)));
}
