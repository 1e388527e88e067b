//! The template decider: state, `decide` and `evolve`.

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::ids::{TemplateId, WorkspaceId};
use crate::time::Timestamp;

use super::command::TemplateCommand;
use super::error::TemplateError;
use super::events::*;
use super::settings::{JsonText, Roles, TemplateSettings};
use super::validate::{
    validate_role, validate_settings, validate_template, validate_template_name,
};

/// A template as its stream defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TemplateInfo {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub roles: Roles,
    pub settings: TemplateSettings,
    pub destinations: JsonText,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The state of a template stream; `Default` (`template: None`) = not created yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateState {
    pub template: Option<TemplateInfo>,
}

/// The template aggregate (stream category `"template"`).
#[derive(Debug)]
pub struct Template;

impl Aggregate for Template {
    type State = TemplateState;
    type Command = TemplateCommand;
    type Event = TemplateEvent;
    type Error = TemplateError;
    const CATEGORY: &'static str = "template";

    fn decide(
        state: &TemplateState,
        cmd: &TemplateCommand,
    ) -> Result<Vec<TemplateEvent>, TemplateError> {
        decide(state, cmd)
    }

    fn evolve(state: TemplateState, event: &TemplateEvent) -> TemplateState {
        evolve(state, event)
    }
}

/// The events a template command produces. Commands that change nothing (same
/// role, same settings) produce no events.
pub fn decide(
    state: &TemplateState,
    cmd: &TemplateCommand,
) -> Result<Vec<TemplateEvent>, TemplateError> {
    if let TemplateCommand::Create(c) = cmd {
        if let Some(t) = &state.template {
            return Err(TemplateError::AlreadyExists(t.id.clone()));
        }
        validate_template_name(&c.name)?;
        validate_template(&c.roles, &c.settings)?;
        return Ok(vec![
            TemplateCreated {
                id: c.id.clone(),
                workspace_id: c.workspace_id.clone(),
                name: c.name.clone(),
                roles: c.roles.clone(),
                settings: c.settings.clone(),
                destinations: c.destinations.clone(),
                at: c.at,
            }
            .into(),
        ]);
    }
    let t = state.template.as_ref().ok_or(TemplateError::NotFound)?;
    let event: TemplateEvent = match cmd {
        TemplateCommand::Create(_) => unreachable!("handled above"),
        TemplateCommand::Update(c) => {
            let name = c.name.clone().unwrap_or_else(|| t.name.clone());
            validate_template_name(&name)?;
            validate_template(&c.roles, &c.settings)?;
            let destinations = c
                .destinations
                .clone()
                .unwrap_or_else(|| t.destinations.clone());
            if name == t.name
                && c.roles == t.roles
                && c.settings == t.settings
                && destinations == t.destinations
            {
                return Ok(vec![]);
            }
            TemplateUpdated {
                name,
                roles: c.roles.clone(),
                settings: c.settings.clone(),
                destinations,
                at: c.at,
            }
            .into()
        }
        TemplateCommand::UpsertRole(c) => {
            validate_role(&c.role)?;
            if t.roles.get(&c.role.name) == Some(&c.role) {
                return Ok(vec![]);
            }
            RoleUpserted {
                role: c.role.clone(),
                at: c.at,
            }
            .into()
        }
        TemplateCommand::DeleteRole(c) => {
            if !t.roles.contains_key(&c.role) {
                return Err(TemplateError::RoleNotFound(c.role.clone()));
            }
            RoleDeleted {
                role: c.role.clone(),
                at: c.at,
            }
            .into()
        }
        TemplateCommand::UpdateSettings(c) => {
            validate_settings(&c.settings)?;
            if c.settings == t.settings {
                return Ok(vec![]);
            }
            SettingsUpdated {
                settings: c.settings.clone(),
                at: c.at,
            }
            .into()
        }
        TemplateCommand::UpdateDestinations(c) => {
            if c.destinations == t.destinations {
                return Ok(vec![]);
            }
            DestinationsUpdated {
                destinations: c.destinations.clone(),
                at: c.at,
            }
            .into()
        }
    };
    Ok(vec![event])
}

/// The template state after one event. Events that need a template are ignored
/// when there is none (they cannot come from `decide`).
pub fn evolve(mut state: TemplateState, event: &TemplateEvent) -> TemplateState {
    if let TemplateEvent::TemplateCreated(e) = event {
        state.template = Some(TemplateInfo {
            id: e.id.clone(),
            workspace_id: e.workspace_id.clone(),
            name: e.name.clone(),
            roles: e.roles.clone(),
            settings: e.settings.clone(),
            destinations: e.destinations.clone(),
            created_at: e.at,
            updated_at: e.at,
        });
        return state;
    }
    let Some(t) = state.template.as_mut() else {
        return state;
    };
    match event {
        TemplateEvent::TemplateCreated(_) => {}
        TemplateEvent::TemplateUpdated(e) => {
            t.name = e.name.clone();
            t.roles = e.roles.clone();
            t.settings = e.settings.clone();
            t.destinations = e.destinations.clone();
        }
        TemplateEvent::RoleUpserted(e) => {
            t.roles.insert(e.role.name.clone(), e.role.clone());
        }
        TemplateEvent::RoleDeleted(e) => {
            t.roles.remove(&e.role);
        }
        TemplateEvent::SettingsUpdated(e) => t.settings = e.settings.clone(),
        TemplateEvent::DestinationsUpdated(e) => t.destinations = e.destinations.clone(),
    }
    t.updated_at = event.at();
    state
}
