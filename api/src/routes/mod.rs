//! One module per resource; each exposes `router()`.

pub mod active_rooms;
pub mod ops;
pub mod room_codes;
pub mod rooms;
pub mod sessions;
pub mod templates;
pub mod webhooks;
