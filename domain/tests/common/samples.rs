//! Canonical sample events, one per event type and version: the golden fixtures
//! under `tests/fixtures/` are these, encoded. Never change a sample whose
//! fixture exists; a new schema version gets a new sample and a new fixture.

use caucus_domain::room::*;
use caucus_domain::template::*;
use caucus_domain::*;

use super::*;

/// A role with every field away from its default, to pin the whole schema.
pub fn rich_role() -> Role {
    let mut r = role(
        "host",
        &[
            PublishKind::Audio,
            PublishKind::Video,
            PublishKind::Screen,
            PublishKind::Simulcast,
        ],
        7,
        all_permissions(),
    );
    r.priority = 2;
    r.publish_params.audio.bit_rate = 64;
    r.publish_params.video = VideoParams {
        bit_rate: 800,
        codec: "vp8".into(),
        frame_rate: 30,
        width: 1280,
        height: 720,
    };
    r.publish_params.screen.bit_rate = 2000;
    r.publish_params.simulcast = Some(SimulcastParams {
        video: SimulcastLayers {
            layers: vec![
                SimulcastLayer {
                    rid: Rid::F,
                    scale_resolution_down_by: 1.0,
                    max_bitrate: 800,
                    max_framerate: 30,
                },
                SimulcastLayer {
                    rid: Rid::H,
                    scale_resolution_down_by: 2.0,
                    max_bitrate: 400,
                    max_framerate: 30,
                },
                SimulcastLayer {
                    rid: Rid::Q,
                    scale_resolution_down_by: 4.0,
                    max_bitrate: 100,
                    max_framerate: 15,
                },
            ],
        },
        screen: SimulcastLayers::default(),
    });
    r.subscribe_params = SubscribeParams {
        subscribe_to_roles: vec![rn("host"), rn("guest")],
        max_subs_bit_rate: 5000,
        subscribe_degradation: Some(SubscribeDegradation::default()),
    };
    r.permissions.rtmp_streaming = false;
    r
}

pub fn rich_roles() -> Roles {
    let mut roles = roles();
    roles.insert(rn("host"), rich_role());
    roles
}

pub fn rich_settings() -> TemplateSettings {
    TemplateSettings {
        region: Region::Eu,
        recording: RecordingSettings {
            enabled: true,
            upload: Some(UploadTarget {
                kind: "s3".into(),
                location: "bucket".into(),
                prefix: "rec/".into(),
                region: "eu-west-1".into(),
            }),
        },
        room_state: RoomStateSettings {
            message_interval: 10,
            send_peer_list: true,
            stop_room_state_on_join: true,
            enabled: true,
        },
    }
}

pub fn room_settings() -> RoomSettings {
    RoomSettings {
        size: 100,
        max_duration_seconds: 3600,
        large_room: false,
        region: Region::In,
    }
}

pub fn room_event_samples() -> Vec<RoomEvent> {
    let at = t(42);
    vec![
        RoomCreated {
            room_id: room_id(),
            workspace_id: workspace_id(),
            name: "standup".into(),
            description: "daily standup".into(),
            template_id: template_id(),
            roles: rich_roles(),
            settings: room_settings(),
            at,
        }
        .into(),
        RoomUpdated {
            name: Some("standup-2".into()),
            description: Some("renamed".into()),
            template: Some(TemplateSnapshot {
                template_id: other_template_id(),
                roles: rich_roles(),
            }),
            settings: Some(room_settings()),
            at,
        }
        .into(),
        RoomEnabled { at }.into(),
        RoomDisabled { at }.into(),
        SessionOpened {
            session_id: session(1),
            template_id: template_id(),
            roles: rich_roles(),
            at,
        }
        .into(),
        SessionClosed {
            session_id: session(1),
            reason: SessionCloseReason::MaxDurationReached,
            started_at: t(1),
            at,
        }
        .into(),
        PeerJoined {
            peer_id: peer(1),
            session_id: session(1),
            user_id: user(1),
            name: "Ada".into(),
            metadata: r#"{"avatar":"a.png"}"#.into(),
            role: rn("host"),
            at,
        }
        .into(),
        PeerLeft {
            peer_id: peer(2),
            session_id: session(1),
            reason: LeaveReason::PeerKicked,
            message: Some("be nice".into()),
            removed_by: Some(as_peer(1)),
            at,
        }
        .into(),
        PeerUpdated {
            peer_id: peer(1),
            name: Some("Ada L.".into()),
            metadata: Some("{}".into()),
            by: Actor::Server,
            at,
        }
        .into(),
        TrackPublished {
            peer_id: peer(1),
            track_id: track(1),
            stream_id: stream(1),
            kind: TrackKind::Video,
            source: TrackSource::Screen,
            muted: true,
            description: "slides".into(),
            at,
        }
        .into(),
        TrackUnpublished {
            peer_id: peer(1),
            track_id: track(1),
            reason: UnpublishReason::RoleChanged,
            at,
        }
        .into(),
        TrackMuted {
            peer_id: peer(2),
            track_id: track(2),
            by: as_peer(1),
            at,
        }
        .into(),
        TrackUnmuted {
            peer_id: peer(2),
            track_id: track(2),
            at,
        }
        .into(),
        TrackUnmuteRequested {
            peer_id: peer(2),
            track_id: track(2),
            by: Actor::Server,
            at,
        }
        .into(),
        RoleChangeRequested {
            peer_id: peer(2),
            role: rn("host"),
            token: token(1),
            by: as_peer(1),
            at,
        }
        .into(),
        RoleChanged {
            peer_id: peer(2),
            from: rn("viewer"),
            to: rn("guest"),
            by: as_peer(1),
            forced: true,
            start_muted: vec![PublishKind::Audio, PublishKind::Video],
            at,
        }
        .into(),
        RoomEnded {
            session_id: session(1),
            by: as_peer(1),
            lock: true,
            reason: "done".into(),
            at,
        }
        .into(),
        MessageBroadcast {
            message_id: message_id(1),
            session_id: session(1),
            sender: as_peer(1),
            recipients: Recipients::Roles(vec![rn("guest"), rn("viewer")]),
            message_type: "chat".into(),
            message: "hello".into(),
            at,
        }
        .into(),
        PeerJoinFailed {
            peer_id: peer(3),
            user_id: user(3),
            name: "Carol".into(),
            metadata: "{}".into(),
            role: rn("guest"),
            reason: "role guest is full (limit 2)".into(),
            at,
        }
        .into(),
        RoleChangeFailed {
            peer_id: peer(2),
            role: rn("host"),
            by: as_peer(1),
            reason: "role host is full (limit 1)".into(),
            at,
        }
        .into(),
    ]
}

pub fn template_event_samples() -> Vec<TemplateEvent> {
    let at = t(42);
    vec![
        TemplateCreated {
            id: template_id(),
            workspace_id: workspace_id(),
            name: "Default Video Conferencing: v1".into(),
            roles: rich_roles(),
            settings: rich_settings(),
            destinations: JsonText(r#"{"hlsDestinations":{}}"#.into()),
            at,
        }
        .into(),
        TemplateUpdated {
            name: "renamed".into(),
            roles: rich_roles(),
            settings: rich_settings(),
            destinations: JsonText::default(),
            at,
        }
        .into(),
        RoleUpserted {
            role: rich_role(),
            at,
        }
        .into(),
        RoleDeleted {
            role: rn("guest"),
            at,
        }
        .into(),
        SettingsUpdated {
            settings: rich_settings(),
            at,
        }
        .into(),
        DestinationsUpdated {
            destinations: JsonText(r#"{"rtmpDestinations":{}}"#.into()),
            at,
        }
        .into(),
    ]
}
