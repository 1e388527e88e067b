//! Property tests for templates: any role JSON either validates or names a
//! field; random template command sequences never panic, and folding the
//! emitted events reproduces the state built step by step.

mod common;

use caucus_domain::template::*;
use caucus_domain::*;
use common::*;
use proptest::prelude::*;

fn role_strategy() -> impl Strategy<Value = Role> {
    (
        0usize..4,
        0u32..200,
        0u32..40,
        0u32..2500,
        0u8..8,
        -3i32..5,
        proptest::collection::vec(0usize..4, 0..5),
    )
        .prop_map(|(name, audio, fps, width, priority, max, allowed)| {
            let names = ["host", "guest", "viewer", "stage"];
            let kinds = [
                PublishKind::Audio,
                PublishKind::Video,
                PublishKind::Screen,
                PublishKind::Simulcast,
            ];
            let mut r = Role::new(rn(names[name]));
            r.publish_params.audio.bit_rate = audio;
            r.publish_params.video.frame_rate = fps;
            r.publish_params.screen.width = width;
            r.priority = priority;
            r.max_peer_count = max;
            r.publish_params.allowed = allowed.into_iter().map(|k| kinds[k]).collect();
            r
        })
}

fn command_strategy() -> impl Strategy<Value = TemplateCommand> {
    prop_oneof![
        (role_strategy(), any::<bool>()).prop_map(|(r, valid_name)| {
            let mut roles = roles();
            roles.insert(r.name.clone(), r);
            TemplateCommand::Create(CreateTemplate {
                id: template_id(),
                workspace_id: workspace_id(),
                name: if valid_name {
                    "tpl".into()
                } else {
                    "bad/name".into()
                },
                roles,
                settings: TemplateSettings::default(),
                destinations: JsonText::default(),
                at: t(0),
            })
        }),
        role_strategy().prop_map(|role| TemplateCommand::UpsertRole(UpsertRole { role, at: t(1) })),
        (0usize..4).prop_map(|i| {
            let role = rn(["host", "guest", "viewer", "stage"][i]);
            TemplateCommand::DeleteRole(DeleteRole { role, at: t(2) })
        }),
        (0u32..4000).prop_map(|interval| {
            let mut settings = TemplateSettings::default();
            settings.room_state.message_interval = interval;
            TemplateCommand::UpdateSettings(UpdateSettings { settings, at: t(3) })
        }),
        any::<bool>().prop_map(|b| {
            let destinations = JsonText(if b { "{}".into() } else { "{\"x\":1}".into() });
            TemplateCommand::UpdateDestinations(UpdateDestinations {
                destinations,
                at: t(4),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn template_sequences_fold_to_the_live_state(cmds in proptest::collection::vec(command_strategy(), 0..30)) {
        let mut state = TemplateState::default();
        let mut log = Vec::new();
        for cmd in &cmds {
            if let Ok(events) = template::decide(&state, cmd) {
                for e in &events {
                    state = template::evolve(state, e);
                }
                log.extend(events);
            }
            if let Some(tpl) = &state.template {
                for role in tpl.roles.values() {
                    prop_assert_eq!(validate_role(role), Ok(()));
                }
                prop_assert_eq!(validate_settings(&tpl.settings), Ok(()));
            }
        }
        prop_assert_eq!(Template::fold(log.iter()), state);
        for e in &log {
            let back = TemplateEvent::decode(e.event_type(), e.schema_version(), &e.encode()).unwrap();
            prop_assert_eq!(&back, e);
        }
    }

    #[test]
    fn role_validation_names_a_field_when_it_refuses(role in role_strategy()) {
        match validate_role(&role) {
            Ok(()) => {}
            Err(TemplateError::OutOfRange { field, .. } | TemplateError::Invalid { field, .. }) => {
                prop_assert!(field.starts_with(&format!("roles.{}.", role.name)), "{}", field);
            }
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
