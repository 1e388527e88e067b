//! Track rules: publish what the role allows, own mute/unmute, remote mute
//! (applied) and unmute (request), bulk by role/type/source.

mod common;

use TrackKind::{Audio, Video};
use TrackSource::{Regular, Screen};
use caucus_domain::room::*;
use caucus_domain::template::PublishKind;
use caucus_domain::*;
use common::*;

#[test]
fn a_peer_publishes_what_its_role_allows() {
    let state = given(room_with(&[(1, "guest")]))
        .when(publish(1, 1, Audio, Regular, 20))
        .then([published(1, 1, Audio, Regular, false)]);
    assert!(state.peers[&peer(1)].tracks.contains_key(&track(1)));
}

#[test]
fn publish_kind_follows_kind_and_source() {
    assert_eq!(publish_kind(Audio, Regular), PublishKind::Audio);
    assert_eq!(publish_kind(Video, Regular), PublishKind::Video);
    assert_eq!(publish_kind(Video, Screen), PublishKind::Screen);
    assert_eq!(publish_kind(Audio, Screen), PublishKind::Screen);
    assert_eq!(
        publish_kind(Video, TrackSource::VideoPlaylist),
        PublishKind::Video
    );
}

#[test]
fn publishing_what_the_role_does_not_allow_is_refused() {
    given(room_with(&[(1, "guest")]))
        .when(publish(1, 1, Video, Screen, 20))
        .then_err(RoomError::NotAllowedToPublish {
            kind: PublishKind::Screen,
        });
    given(room_with(&[(1, "viewer")]))
        .when(publish(1, 1, Audio, Regular, 20))
        .then_err(RoomError::NotAllowedToPublish {
            kind: PublishKind::Audio,
        });
    given(room_with(&[(1, "stage")]))
        .when(publish(1, 1, Video, Regular, 20))
        .then_err(RoomError::NotAllowedToPublish {
            kind: PublishKind::Video,
        });
}

#[test]
fn only_joined_peers_publish() {
    given(room_with(&[(1, "guest")]))
        .when(publish(2, 1, Audio, Regular, 20))
        .then_err(RoomError::PeerNotFound(peer(2)));
}

#[test]
fn a_track_id_is_published_once_per_room() {
    let mut events = room_with(&[(1, "guest"), (2, "guest")]);
    events.push(published(1, 1, Audio, Regular, false));
    given(events)
        .when(publish(2, 1, Audio, Regular, 21))
        .then_err(RoomError::DuplicateTrack(track(1)));
}

fn with_track(peers: &[(u32, &str)], owner: u32, muted: bool) -> Vec<RoomEvent> {
    let mut events = room_with(peers);
    events.push(published(owner, 1, Audio, Regular, muted));
    events
}

#[test]
fn unpublish_removes_an_own_track() {
    let state = given(with_track(&[(1, "guest")], 1, false))
        .when(UnpublishTrack {
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then([TrackUnpublished {
            peer_id: peer(1),
            track_id: track(1),
            reason: UnpublishReason::ClientRequest,
            at: t(30),
        }]);
    assert!(state.peers[&peer(1)].tracks.is_empty());
}

#[test]
fn unpublish_of_another_peers_track_is_not_found() {
    given(with_track(&[(1, "guest"), (2, "guest")], 1, false))
        .when(UnpublishTrack {
            peer_id: peer(2),
            track_id: track(1),
            at: t(30),
        })
        .then_err(RoomError::TrackNotFound(track(1)));
}

#[test]
fn own_mute_and_unmute() {
    let state = given(with_track(&[(1, "guest")], 1, false))
        .when(MuteTrack {
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then([TrackMuted {
            peer_id: peer(1),
            track_id: track(1),
            by: as_peer(1),
            at: t(30),
        }]);
    assert!(state.peers[&peer(1)].tracks[&track(1)].muted);
    given(with_track(&[(1, "guest")], 1, true))
        .when(UnmuteTrack {
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then([TrackUnmuted {
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        }]);
}

#[test]
fn muting_a_muted_track_records_nothing() {
    given(with_track(&[(1, "guest")], 1, true))
        .when(MuteTrack {
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then_nothing();
}

#[test]
fn remote_mute_is_applied_at_once() {
    let state = given(with_track(&[(1, "host"), (2, "guest")], 2, false))
        .when(RequestTrackMute {
            actor: as_peer(1),
            peer_id: peer(2),
            track_id: track(1),
            at: t(30),
        })
        .then([TrackMuted {
            peer_id: peer(2),
            track_id: track(1),
            by: as_peer(1),
            at: t(30),
        }]);
    assert!(state.peers[&peer(2)].tracks[&track(1)].muted);
}

#[test]
fn remote_mute_needs_mute() {
    given(with_track(&[(1, "host"), (2, "guest")], 1, false))
        .when(RequestTrackMute {
            actor: as_peer(2),
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then_err(RoomError::PermissionDenied { permission: "mute" });
}

#[test]
fn remote_unmute_is_only_a_request() {
    let state = given(with_track(&[(1, "host"), (2, "guest")], 2, true))
        .when(RequestTrackUnmute {
            actor: as_peer(1),
            peer_id: peer(2),
            track_id: track(1),
            at: t(30),
        })
        .then([TrackUnmuteRequested {
            peer_id: peer(2),
            track_id: track(1),
            by: as_peer(1),
            at: t(30),
        }]);
    assert!(
        state.peers[&peer(2)].tracks[&track(1)].muted,
        "still muted until the target consents"
    );
}

#[test]
fn remote_unmute_needs_unmute() {
    given(with_track(&[(1, "host"), (2, "guest")], 1, true))
        .when(RequestTrackUnmute {
            actor: as_peer(2),
            peer_id: peer(1),
            track_id: track(1),
            at: t(30),
        })
        .then_err(RoomError::PermissionDenied {
            permission: "unmute",
        });
}

#[test]
fn the_target_consents_by_unmuting_itself() {
    let mut events = with_track(&[(1, "host"), (2, "guest")], 2, true);
    events.push(
        TrackUnmuteRequested {
            peer_id: peer(2),
            track_id: track(1),
            by: as_peer(1),
            at: t(30),
        }
        .into(),
    );
    given(events)
        .when(UnmuteTrack {
            peer_id: peer(2),
            track_id: track(1),
            at: t(31),
        })
        .then([TrackUnmuted {
            peer_id: peer(2),
            track_id: track(1),
            at: t(31),
        }]);
}

fn bulk(actor: Actor, mute: bool) -> ChangeTrackMuteState {
    ChangeTrackMuteState {
        actor,
        mute,
        peer_id: None,
        roles: None,
        kind: None,
        source: None,
        at: t(30),
    }
}

/// host 1 (audio t1), guest 2 (audio t2, video t3), guest 3 (audio t4).
fn busy_room(muted: bool) -> Vec<RoomEvent> {
    let mut events = room_with(&[(1, "host"), (2, "guest"), (3, "guest")]);
    events.push(published(1, 1, Audio, Regular, muted));
    events.push(published(2, 2, Audio, Regular, muted));
    events.push(published(2, 3, Video, Regular, muted));
    events.push(published(3, 4, Audio, Regular, muted));
    events
}

fn muted_tracks(events: &[RoomEvent]) -> Vec<(PeerId, TrackId)> {
    events
        .iter()
        .map(|e| match e {
            RoomEvent::TrackMuted(m) => (m.peer_id.clone(), m.track_id.clone()),
            RoomEvent::TrackUnmuteRequested(m) => (m.peer_id.clone(), m.track_id.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn bulk_mute_mutes_everyone_else() {
    let events = given(busy_room(false))
        .when(bulk(as_peer(1), true))
        .events();
    assert_eq!(
        muted_tracks(&events),
        [
            (peer(2), track(2)),
            (peer(2), track(3)),
            (peer(3), track(4))
        ]
    );
}

#[test]
fn bulk_mute_filters_by_role_type_and_source() {
    let mut c = bulk(as_peer(1), true);
    c.kind = Some(Video);
    assert_eq!(
        muted_tracks(&given(busy_room(false)).when(c).events()),
        [(peer(2), track(3))]
    );
    let mut c = bulk(Actor::Server, true);
    c.roles = Some(vec![rn("host")]);
    c.source = Some(Regular);
    assert_eq!(
        muted_tracks(&given(busy_room(false)).when(c).events()),
        [(peer(1), track(1))]
    );
    let mut c = bulk(Actor::Server, true);
    c.peer_id = Some(peer(3));
    assert_eq!(
        muted_tracks(&given(busy_room(false)).when(c).events()),
        [(peer(3), track(4))]
    );
}

#[test]
fn bulk_unmute_requests_consent() {
    let events = given(busy_room(true))
        .when(bulk(as_peer(1), false))
        .events();
    assert!(
        events
            .iter()
            .all(|e| matches!(e, RoomEvent::TrackUnmuteRequested(_)))
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn bulk_mute_needs_the_permission() {
    given(busy_room(false))
        .when(bulk(as_peer(2), true))
        .then_err(RoomError::PermissionDenied { permission: "mute" });
    given(busy_room(true))
        .when(bulk(as_peer(2), false))
        .then_err(RoomError::PermissionDenied {
            permission: "unmute",
        });
}
