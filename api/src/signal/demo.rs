//! `/demo`: a small video-room page on the official 100ms web SDK, pointed at
//! this server. Its sources and the bundler live in `tests/browser/` (the
//! browser tests drive the same page); the built bundle is committed under
//! `api/assets/demo/` and embedded here, so a fresh build serves it.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("../../assets/demo/index.html");
const APP: &str = include_str!("../../assets/demo/app.js");

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
}

async fn app() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP,
    )
}

/// `GET /demo` (and `/demo/`) and `GET /demo/app.js`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/demo", get(index))
        .route("/demo/", get(index))
        .route("/demo/app.js", get(app))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_the_page_and_its_bundle() {
        let r: Router = router();
        let page = r
            .clone()
            .oneshot(Request::get("/demo").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let js = r
            .oneshot(Request::get("/demo/app.js").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(js.status(), StatusCode::OK);
        assert!(
            js.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(INDEX.contains("/demo/app.js"));
    }
}
