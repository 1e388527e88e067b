//! Templates ("policies"): named sets of roles and settings, each its own stream
//! (`template-<id>`).
//!
//! Layout: [`role`] (the role object and its parts, 100ms field names),
//! [`settings`] (settings, destinations, the `Roles` map), [`validate`] (ranges),
//! [`error`], [`command`], [`events`], [`decider`] (state, decide, evolve).

pub mod command;
pub mod decider;
pub mod error;
pub mod events;
pub mod role;
pub mod settings;
pub mod validate;

pub use command::*;
pub use decider::{Template, TemplateInfo, TemplateState, decide, evolve};
pub use error::TemplateError;
pub use events::*;
pub use role::*;
pub use settings::*;
pub use validate::*;
