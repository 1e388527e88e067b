//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and their request and response types, so it cannot drift from
//! the code. Served at `/v2/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::routes;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Caucus Server API",
        description = "The 100ms Server API v2, self-hosted. Authenticate with a management token: `Authorization: Bearer <token>`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "templates"), (name = "rooms"), (name = "room-codes"),
        (name = "active-rooms"), (name = "sessions"), (name = "operations"),
        (name = "webhooks", description = "Caucus extension: webhook endpoints, delivery log, redelivery")
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every documented route, with the document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::templates::router())
        .merge(routes::rooms::router())
        .merge(routes::room_codes::router())
        .merge(routes::active_rooms::router())
        .merge(routes::sessions::router())
        .merge(routes::ops::router())
        .merge(routes::webhooks::router())
}

/// The document alone (for tests and tools).
pub fn document() -> utoipa::openapi::OpenApi {
    router().split_for_parts().1
}
