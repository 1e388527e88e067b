//! Template rules: the stream's commands and the 100ms validation ranges.

mod common;

use caucus_domain::template::*;
use common::samples::{rich_role, rich_settings};
use common::*;

fn create() -> CreateTemplate {
    CreateTemplate {
        id: template_id(),
        workspace_id: workspace_id(),
        name: "Video Conferencing".into(),
        roles: roles(),
        settings: TemplateSettings::default(),
        destinations: JsonText::default(),
        at: t(0),
    }
}

fn created() -> TemplateEvent {
    TemplateCreated {
        id: template_id(),
        workspace_id: workspace_id(),
        name: "Video Conferencing".into(),
        roles: roles(),
        settings: TemplateSettings::default(),
        destinations: JsonText::default(),
        at: t(0),
    }
    .into()
}

fn none() -> Vec<TemplateEvent> {
    Vec::new()
}

fn out_of_range(field: &str, min: i64, max: i64, value: i64) -> TemplateError {
    TemplateError::OutOfRange {
        field: field.into(),
        min,
        max,
        value,
    }
}

#[test]
fn create_records_the_template() {
    let state = given(none())
        .when(TemplateCommand::Create(create()))
        .then([created()]);
    assert_eq!(state.template.unwrap().roles, roles());
}

#[test]
fn create_twice_is_refused() {
    given([created()])
        .when(TemplateCommand::Create(create()))
        .then_err(TemplateError::AlreadyExists(template_id()));
}

#[test]
fn template_names_allow_only_100ms_characters() {
    let mut c = create();
    c.name = "Default: v1.2_a-b".into();
    given(none())
        .when(TemplateCommand::Create(c.clone()))
        .events();
    for bad in ["", "emoji 🙂", "slash/name", "semi;colon"] {
        c.name = bad.into();
        assert!(matches!(
            given(none())
                .when(TemplateCommand::Create(c.clone()))
                .events_or_err(),
            Err(TemplateError::Invalid { .. })
        ));
    }
}

#[test]
fn commands_before_create_are_not_found() {
    given(none())
        .when(TemplateCommand::DeleteRole(DeleteRole {
            role: rn("host"),
            at: t(1),
        }))
        .then_err(TemplateError::NotFound);
}

#[test]
fn update_overwrites_roles_and_settings_and_keeps_an_absent_name() {
    let mut new_roles = roles();
    new_roles.remove(&rn("blocked"));
    let cmd = UpdateTemplate {
        name: None,
        roles: new_roles.clone(),
        settings: rich_settings(),
        destinations: None,
        at: t(5),
    };
    let state = given([created()])
        .when(TemplateCommand::Update(cmd))
        .then([TemplateUpdated {
            name: "Video Conferencing".into(),
            roles: new_roles.clone(),
            settings: rich_settings(),
            destinations: JsonText::default(),
            at: t(5),
        }]);
    let tpl = state.template.unwrap();
    assert_eq!(tpl.roles, new_roles);
    assert_eq!(tpl.updated_at, t(5));
}

#[test]
fn upsert_role_adds_or_replaces_one_role() {
    let mut r = role("speaker", &[PublishKind::Audio], 10, Permissions::default());
    given([created()])
        .when(TemplateCommand::UpsertRole(UpsertRole {
            role: r.clone(),
            at: t(5),
        }))
        .then([RoleUpserted {
            role: r.clone(),
            at: t(5),
        }]);
    r.priority = 3;
    let state = given([
        created(),
        RoleUpserted {
            role: r.clone(),
            at: t(5),
        }
        .into(),
    ])
    .when(TemplateCommand::UpsertRole(UpsertRole {
        role: r.clone(),
        at: t(6),
    }))
    .state_after();
    assert_eq!(state.template.unwrap().roles[&rn("speaker")].priority, 3);
}

#[test]
fn upserting_an_identical_role_records_nothing() {
    let r = roles()[&rn("guest")].clone();
    given([created()])
        .when(TemplateCommand::UpsertRole(UpsertRole {
            role: r,
            at: t(5),
        }))
        .then_nothing();
}

#[test]
fn delete_role_removes_it_and_a_repeat_is_not_found() {
    let del = || {
        TemplateCommand::DeleteRole(DeleteRole {
            role: rn("guest"),
            at: t(5),
        })
    };
    let state = given([created()]).when(del()).then([RoleDeleted {
        role: rn("guest"),
        at: t(5),
    }]);
    assert!(!state.template.unwrap().roles.contains_key(&rn("guest")));
    given([
        created(),
        RoleDeleted {
            role: rn("guest"),
            at: t(5),
        }
        .into(),
    ])
    .when(del())
    .then_err(TemplateError::RoleNotFound(rn("guest")));
}

#[test]
fn settings_and_destinations_are_replaced() {
    given([created()])
        .when(TemplateCommand::UpdateSettings(UpdateSettings {
            settings: rich_settings(),
            at: t(5),
        }))
        .then([SettingsUpdated {
            settings: rich_settings(),
            at: t(5),
        }]);
    let d = JsonText(r#"{"hlsDestinations":{}}"#.into());
    given([created()])
        .when(TemplateCommand::UpdateDestinations(UpdateDestinations {
            destinations: d.clone(),
            at: t(5),
        }))
        .then([DestinationsUpdated {
            destinations: d,
            at: t(5),
        }]);
}

#[test]
fn invalid_roles_are_refused_with_the_field_path() {
    let mut r = rich_role();
    r.publish_params.video.frame_rate = 31;
    given([created()])
        .when(TemplateCommand::UpsertRole(UpsertRole {
            role: r,
            at: t(5),
        }))
        .then_err(out_of_range(
            "roles.host.publishParams.video.frameRate",
            1,
            30,
            31,
        ));
}

#[test]
fn role_key_must_match_role_name() {
    let mut c = create();
    let guest = c.roles[&rn("guest")].clone();
    c.roles.insert(rn("other"), guest);
    assert!(matches!(
        given(none()).when(TemplateCommand::Create(c)).events_or_err(),
        Err(TemplateError::Invalid { field, .. }) if field == "roles.other.name"
    ));
}

// ---------- ranges (reference §1.1) ----------

fn check_role(edit: impl FnOnce(&mut Role)) -> Result<(), TemplateError> {
    let mut r = rich_role();
    edit(&mut r);
    validate_role(&r)
}

#[test]
fn the_rich_sample_role_is_valid() {
    assert_eq!(check_role(|_| {}), Ok(()));
}

#[test]
fn audio_bit_rate_is_16_to_128_and_codec_opus() {
    assert_eq!(check_role(|r| r.publish_params.audio.bit_rate = 16), Ok(()));
    assert_eq!(
        check_role(|r| r.publish_params.audio.bit_rate = 129),
        Err(out_of_range(
            "roles.host.publishParams.audio.bitRate",
            16,
            128,
            129
        ))
    );
    assert!(check_role(|r| r.publish_params.audio.codec = "aac".into()).is_err());
}

#[test]
fn video_ranges() {
    let p = "roles.host.publishParams.video";
    assert_eq!(
        check_role(|r| r.publish_params.video.bit_rate = 29),
        Err(out_of_range(&format!("{p}.bitRate"), 30, 2000, 29))
    );
    assert_eq!(
        check_role(|r| r.publish_params.video.frame_rate = 0),
        Err(out_of_range(&format!("{p}.frameRate"), 1, 30, 0))
    );
    assert_eq!(
        check_role(|r| r.publish_params.video.width = 1921),
        Err(out_of_range(&format!("{p}.width"), 50, 1920, 1921))
    );
    assert_eq!(
        check_role(|r| r.publish_params.video.height = 49),
        Err(out_of_range(&format!("{p}.height"), 50, 1080, 49))
    );
}

#[test]
fn screen_ranges() {
    let p = "roles.host.publishParams.screen";
    assert_eq!(
        check_role(|r| r.publish_params.screen.bit_rate = 499),
        Err(out_of_range(
            &format!("{p}.bitRate"),
            500,
            i64::from(u32::MAX),
            499
        ))
    );
    assert_eq!(
        check_role(|r| r.publish_params.screen.frame_rate = 31),
        Err(out_of_range(&format!("{p}.frameRate"), 1, 30, 31))
    );
    assert_eq!(
        check_role(|r| r.publish_params.screen.width = 479),
        Err(out_of_range(&format!("{p}.width"), 480, 1920, 479))
    );
    assert_eq!(
        check_role(|r| r.publish_params.screen.height = 1081),
        Err(out_of_range(&format!("{p}.height"), 270, 1080, 1081))
    );
}

#[test]
fn priority_is_1_to_5_and_max_peer_count_at_least_minus_1() {
    assert_eq!(
        check_role(|r| r.priority = 6),
        Err(out_of_range("roles.host.priority", 1, 5, 6))
    );
    assert_eq!(check_role(|r| r.max_peer_count = -1), Ok(()));
    assert!(check_role(|r| r.max_peer_count = -2).is_err());
}

#[test]
fn subscribe_degradation_ranges() {
    let p = "roles.host.subscribeParams.subscribeDegradation";
    let set = |f: fn(&mut SubscribeDegradation)| {
        check_role(|r| f(r.subscribe_params.subscribe_degradation.as_mut().unwrap()))
    };
    assert_eq!(
        set(|d| d.packet_loss_threshold = 101),
        Err(out_of_range(
            &format!("{p}.packetLossThreshold"),
            1,
            100,
            101
        ))
    );
    assert_eq!(
        set(|d| d.degrade_grace_period_seconds = 0),
        Err(out_of_range(
            &format!("{p}.degradeGracePeriodSeconds"),
            1,
            10,
            0
        ))
    );
    assert_eq!(
        set(|d| d.recover_grace_period_seconds = 11),
        Err(out_of_range(
            &format!("{p}.recoverGracePeriodSeconds"),
            1,
            10,
            11
        ))
    );
}

#[test]
fn simulcast_layer_rules() {
    fn layers(r: &mut Role) -> &mut Vec<SimulcastLayer> {
        &mut r.publish_params.simulcast.as_mut().unwrap().video.layers
    }
    // first layer must be f at scale 1
    assert!(check_role(|r| layers(r)[0].scale_resolution_down_by = 1.5).is_err());
    assert!(
        check_role(|r| {
            layers(r).remove(0);
        })
        .is_err()
    );
    // rid strictly decreasing, scale strictly increasing
    assert!(check_role(|r| layers(r)[2].rid = Rid::H).is_err());
    assert!(check_role(|r| layers(r)[2].scale_resolution_down_by = 2.0).is_err());
    // at most 3 layers
    assert!(
        check_role(|r| {
            let l = layers(r)[2].clone();
            layers(r).push(l);
        })
        .is_err()
    );
    // ranges
    assert!(check_role(|r| layers(r)[2].scale_resolution_down_by = 12.5).is_err());
    assert!(check_role(|r| layers(r)[1].max_bitrate = 2001).is_err());
    assert!(check_role(|r| layers(r)[1].max_framerate = 0).is_err());
    // two layers f, q are fine
    assert_eq!(
        check_role(|r| {
            layers(r).remove(1);
        }),
        Ok(())
    );
}

#[test]
fn allowed_kinds_are_not_repeated() {
    assert!(check_role(|r| r.publish_params.allowed.push(PublishKind::Audio)).is_err());
}

#[test]
fn room_state_interval_is_a_multiple_of_5_in_5_to_3600() {
    let mut s = rich_settings();
    for ok in [5, 3600, 60] {
        s.room_state.message_interval = ok;
        assert_eq!(validate_settings(&s), Ok(()));
    }
    s.room_state.message_interval = 7;
    assert!(matches!(
        validate_settings(&s),
        Err(TemplateError::Invalid { .. })
    ));
    s.room_state.message_interval = 3605;
    assert_eq!(
        validate_settings(&s),
        Err(out_of_range(
            "settings.roomState.messageInterval",
            5,
            3600,
            3605
        ))
    );
}

#[test]
fn role_json_round_trips_with_100ms_names_and_defaults() {
    let json = r#"{
        "name": "host",
        "publishParams": {"allowed": ["audio", "video"], "video": {"bitRate": 500}},
        "subscribeParams": {"subscribeToRoles": ["host"], "subscribeDegradation": {}},
        "permissions": {"endRoom": true},
        "priority": 2,
        "maxPeerCount": -1
    }"#;
    let r: Role = serde_json::from_str(json).unwrap();
    assert_eq!(r.publish_params.video.bit_rate, 500);
    assert_eq!(r.publish_params.video.frame_rate, 25);
    assert_eq!(
        r.subscribe_params.subscribe_degradation,
        Some(SubscribeDegradation::default())
    );
    assert!(r.permissions.end_room && r.permissions.browser_recording && !r.permissions.mute);
    assert_eq!(r.peer_limit(), Some(0));
    let back: Role = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn settings_json_uses_100ms_names() {
    let s: TemplateSettings = serde_json::from_str(
        r#"{"region":"eu","roomState":{"messageInterval":10,"sendPeerList":true}}"#,
    )
    .unwrap();
    assert_eq!(s.region, Region::Eu);
    assert_eq!(s.room_state.message_interval, 10);
    assert!(s.room_state.send_peer_list);
}
