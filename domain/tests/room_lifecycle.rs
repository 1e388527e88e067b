//! Room lifecycle rules: create, update, enable/disable, end, maximum duration.

mod common;

use caucus_domain::room::*;
use caucus_domain::*;
use common::*;

fn create() -> CreateRoom {
    CreateRoom {
        room_id: room_id(),
        workspace_id: workspace_id(),
        name: "standup".into(),
        description: "daily".into(),
        template_id: template_id(),
        roles: roles(),
        settings: RoomSettings::default(),
        at: t(0),
    }
}

fn update() -> UpdateRoom {
    UpdateRoom {
        name: None,
        description: None,
        template: None,
        settings: None,
        at: t(5),
    }
}

#[test]
fn create_room_records_the_room_with_its_role_snapshot() {
    let state = given(Vec::<RoomEvent>::new())
        .when(create())
        .then([room_created()]);
    let room = state.room.unwrap();
    assert!(room.enabled);
    assert_eq!(room.roles, roles());
    assert_eq!(room.settings.max_duration_seconds, 43_200);
}

#[test]
fn create_room_twice_is_refused() {
    given([room_created()])
        .when(create())
        .then_err(RoomError::RoomAlreadyExists(room_id()));
}

#[test]
fn create_room_rejects_a_bad_name() {
    let mut c = create();
    c.name = "has space".into();
    assert!(matches!(
        given(Vec::<RoomEvent>::new()).when(c).events_or_err(),
        Err(RoomError::Invalid { field: "name", .. })
    ));
}

#[test]
fn create_room_rejects_max_duration_out_of_range() {
    for bad in [119, 43_201] {
        let mut c = create();
        c.settings.max_duration_seconds = bad;
        given(Vec::<RoomEvent>::new())
            .when(c)
            .then_err(RoomError::OutOfRange {
                field: "max_duration_seconds",
                min: 120,
                max: 43_200,
                value: bad.into(),
            });
    }
}

#[test]
fn room_size_limit_depends_on_large_room() {
    let mut c = create();
    c.settings.size = 2_501;
    given(Vec::<RoomEvent>::new())
        .when(c.clone())
        .then_err(RoomError::OutOfRange {
            field: "size",
            min: 0,
            max: 2_500,
            value: 2_501,
        });
    c.settings.large_room = true;
    assert_eq!(given(Vec::<RoomEvent>::new()).when(c).events().len(), 1);
}

#[test]
fn commands_on_a_missing_room_are_refused() {
    given(Vec::<RoomEvent>::new())
        .when(join(1, "host", 1))
        .then_err(RoomError::RoomNotFound);
    given(Vec::<RoomEvent>::new())
        .when(EnableRoom { at: t(1) })
        .then_err(RoomError::RoomNotFound);
    given(Vec::<RoomEvent>::new())
        .when(Tick { now: t(1) })
        .then_err(RoomError::RoomNotFound);
}

#[test]
fn update_room_records_only_what_changes() {
    let mut u = update();
    u.name = Some("standup".into());
    u.description = Some("weekly".into());
    let state = given([room_created()]).when(u).then([RoomUpdated {
        name: None,
        description: Some("weekly".into()),
        template: None,
        settings: None,
        at: t(5),
    }]);
    assert_eq!(state.room.unwrap().description, "weekly");
}

#[test]
fn update_room_with_nothing_new_records_nothing() {
    let mut u = update();
    u.name = Some("standup".into());
    given([room_created()]).when(u).then_nothing();
}

#[test]
fn update_room_replaces_the_role_snapshot() {
    let mut new_roles = roles();
    new_roles.remove(&rn("blocked"));
    let snap = TemplateSnapshot {
        template_id: other_template_id(),
        roles: new_roles.clone(),
    };
    let mut u = update();
    u.template = Some(snap.clone());
    let state = given([room_created()]).when(u).then([RoomUpdated {
        name: None,
        description: None,
        template: Some(snap),
        settings: None,
        at: t(5),
    }]);
    assert_eq!(state.room.as_ref().unwrap().roles, new_roles);
    assert_eq!(state.room.unwrap().template_id, other_template_id());
}

#[test]
fn update_room_cannot_drop_a_role_in_use() {
    let mut new_roles = roles();
    new_roles.remove(&rn("guest"));
    let mut u = update();
    u.template = Some(TemplateSnapshot {
        template_id: template_id(),
        roles: new_roles,
    });
    given(room_with(&[(1, "guest")]))
        .when(u)
        .then_err(RoleInUse(rn("guest")));
}

#[allow(non_snake_case)]
fn RoleInUse(role: RoleName) -> RoomError {
    RoomError::RoleInUse { role }
}

#[test]
fn update_room_cannot_take_away_a_published_kind() {
    let mut new_roles = roles();
    new_roles
        .get_mut(&rn("guest"))
        .unwrap()
        .publish_params
        .allowed
        .clear();
    let mut u = update();
    u.template = Some(TemplateSnapshot {
        template_id: template_id(),
        roles: new_roles,
    });
    let mut events = room_with(&[(1, "guest")]);
    events.push(published(
        1,
        1,
        TrackKind::Audio,
        TrackSource::Regular,
        false,
    ));
    given(events).when(u).then_err(RoleInUse(rn("guest")));
}

#[test]
fn update_room_cannot_shrink_a_role_below_its_peers() {
    let mut new_roles = roles();
    new_roles.get_mut(&rn("guest")).unwrap().max_peer_count = 1;
    let mut u = update();
    u.template = Some(TemplateSnapshot {
        template_id: template_id(),
        roles: new_roles,
    });
    given(room_with(&[(1, "guest"), (2, "guest")]))
        .when(u)
        .then_err(RoleInUse(rn("guest")));
}

#[test]
fn disable_and_enable_toggle_and_repeat_as_no_ops() {
    let state = given([room_created()])
        .when(DisableRoom { at: t(1) })
        .then([RoomDisabled { at: t(1) }]);
    assert!(!state.room.unwrap().enabled);
    given([room_created(), RoomDisabled { at: t(1) }.into()])
        .when(DisableRoom { at: t(2) })
        .then_nothing();
    given([room_created(), RoomDisabled { at: t(1) }.into()])
        .when(EnableRoom { at: t(2) })
        .then([RoomEnabled { at: t(2) }]);
    given([room_created()])
        .when(EnableRoom { at: t(2) })
        .then_nothing();
}

#[test]
fn a_disabled_room_keeps_its_session_going() {
    let mut events = room_with(&[(1, "host")]);
    events.push(RoomDisabled { at: t(11) }.into());
    let g = given(events);
    assert!(g.state().session.is_some());
    g.when(publish(1, 1, TrackKind::Audio, TrackSource::Regular, 12))
        .events();
}

fn end(actor: Actor, lock: bool) -> EndRoom {
    EndRoom {
        actor,
        lock,
        reason: "bye".into(),
        at: t(30),
    }
}

#[test]
fn end_room_removes_everyone_and_closes_the_session() {
    let state = given(room_with(&[(1, "host"), (2, "guest")]))
        .when(end(as_peer(1), false))
        .then([
            RoomEnded {
                session_id: session(1),
                by: as_peer(1),
                lock: false,
                reason: "bye".into(),
                at: t(30),
            }
            .into(),
            left(
                1,
                LeaveReason::ServerRemovedPeer,
                Some("bye"),
                Some(as_peer(1)),
                30,
            ),
            left(
                2,
                LeaveReason::ServerRemovedPeer,
                Some("bye"),
                Some(as_peer(1)),
                30,
            ),
            closed(SessionCloseReason::RoomEnded, 30),
        ]);
    assert!(state.session.is_none() && state.peers.is_empty());
    assert!(state.room.unwrap().enabled);
}

#[test]
fn end_room_with_lock_disables_the_room() {
    let events = given(room_with(&[(1, "host")]))
        .when(end(Actor::Server, true))
        .events();
    assert_eq!(events.last(), Some(&RoomDisabled { at: t(30) }.into()));
}

#[test]
fn end_room_needs_the_end_room_permission() {
    given(room_with(&[(1, "host"), (2, "guest")]))
        .when(end(as_peer(2), false))
        .then_err(RoomError::PermissionDenied {
            permission: "endRoom",
        });
}

#[test]
fn end_room_without_a_session_is_refused() {
    given([room_created()])
        .when(end(Actor::Server, false))
        .then_err(RoomError::NoActiveSession);
}

#[test]
fn tick_before_the_maximum_duration_does_nothing() {
    given(room_with(&[(1, "host")]))
        .when(Tick {
            now: t(10 + 43_199),
        })
        .then_nothing();
}

#[test]
fn tick_at_the_maximum_duration_removes_everyone_and_closes_the_session() {
    let now = 10 + 43_200;
    let state = given(room_with(&[(1, "host"), (2, "guest")]))
        .when(Tick { now: t(now) })
        .then([
            left(
                1,
                LeaveReason::ServerRemovedPeer,
                Some("max duration reached"),
                Some(Actor::Server),
                now,
            ),
            left(
                2,
                LeaveReason::ServerRemovedPeer,
                Some("max duration reached"),
                Some(Actor::Server),
                now,
            ),
            closed(SessionCloseReason::MaxDurationReached, now),
        ]);
    assert!(state.session.is_none());
}

#[test]
fn tick_follows_the_rooms_own_max_duration() {
    let mut events = room_with(&[]);
    events.push(
        RoomUpdated {
            name: None,
            description: None,
            template: None,
            settings: Some(RoomSettings {
                max_duration_seconds: 120,
                ..RoomSettings::default()
            }),
            at: t(1),
        }
        .into(),
    );
    events.push(session_opened(10));
    events.push(peer_joined(1, "host", 10));
    assert_eq!(given(events).when(Tick { now: t(130) }).events().len(), 2);
}

#[test]
fn tick_without_a_session_does_nothing() {
    given([room_created()])
        .when(Tick { now: t(100_000) })
        .then_nothing();
}

#[test]
fn a_join_into_an_overdue_session_closes_it_and_opens_a_new_one() {
    let now = 10 + 43_200;
    let mut j = join(2, "guest", now);
    j.session_id = session(2);
    let events = given(room_with(&[(1, "host")])).when(j).events();
    let names: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        names,
        ["PeerLeft", "SessionClosed", "SessionOpened", "PeerJoined"]
    );
}
