//! The REST server API in the shape of 100ms's Server API v2, with tokens,
//! workspaces, the OpenAPI document and the operations endpoints.

pub mod auth;
pub mod workspaces;
