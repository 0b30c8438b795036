//! The whole route table on one screen, and the state handlers share.
use crate::api::{events, jobs, root, subresources, work_areas};
use crate::config::Config;
use crate::delivery::HookSettings;
use crate::directory::Directory;
use crate::domain::subresources::SubKind;
use crate::http::auth::require_digest;
use crate::http::digest::DigestAuth;
use crate::http::edge::{edge, PublicUrl};
use crate::http::error::ApiError;
use crate::store::SharedRepository;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{middleware, Router};
use chrono::NaiveDate;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;

/// How long a Digest nonce stays valid (the real service documents five minutes).
pub const NONCE_TTL: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct AppState {
    pub repo: SharedRepository,
    /// Users and work areas, remembered for a few seconds.
    pub directory: Arc<Directory>,
    pub digest: Arc<DigestAuth>,
    /// A fixed "today" for the derived statuses (tests, demos); `None` = the UTC date.
    pub today: Option<NaiveDate>,
    pub hooks: HookSettings,
}

impl AppState {
    pub fn new(repo: SharedRepository, config: &Config, secret: &[u8]) -> Self {
        AppState {
            directory: Arc::new(Directory::new(repo.clone())),
            repo,
            digest: Arc::new(DigestAuth::new(&config.realm, secret, NONCE_TTL)),
            today: config.today,
            hooks: HookSettings {
                allow_private: config.hooks_allow_private,
                retry_base: Duration::from_millis(config.hooks_retry_base_ms),
            },
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.today
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
    }
}

/// The service the server runs: the edge layer wraps the router, because it rewrites the path
/// (suffixes, trailing slashes) before routing sees it.
pub fn build_app(state: AppState, public_url: Option<String>) -> Router {
    let mut api = Router::new()
        .route("/api", methods("GET, HEAD", get(root::show)))
        .route(
            "/api/work_areas",
            methods("GET, HEAD", get(work_areas::list)),
        )
        .route(
            "/api/work_areas/{wa}",
            methods("GET, HEAD", get(work_areas::show)),
        )
        .route(
            "/api/work_areas/{wa}/jobs",
            methods("GET, HEAD, POST", get(jobs::list).post(jobs::create)),
        )
        .route(
            "/api/work_areas/{wa}/jobs/{id}",
            methods(
                "GET, HEAD, PUT, DELETE",
                get(jobs::show).put(jobs::update).delete(jobs::delete),
            ),
        )
        .route("/api/events", methods("GET, HEAD", get(events::list)))
        .route("/api/events/{id}", methods("GET, HEAD", get(events::show)))
        .route(
            "/api/work_areas/{wa}/jobs/{id}/hooks/{hook_id}/deliveries",
            methods("GET, HEAD", get(events::deliveries)),
        )
        .fallback(|| async { ApiError::NotFound });
    // Each kind of sub-resource by name, so that any other name is simply not a route.
    for kind in SubKind::ALL {
        let list = format!("/api/work_areas/{{wa}}/jobs/{{id}}/{}", kind.plural());
        let one = format!("{list}/{{sub_id}}");
        let all = get(subresources::list).post(subresources::create);
        let single = get(subresources::show)
            .put(subresources::update)
            .delete(subresources::delete);
        api = api
            .route(&list, methods("GET, HEAD, POST", all))
            .route(&one, methods("GET, HEAD, PUT, DELETE", single));
    }
    let api = api
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_digest,
        ))
        .with_state(state);
    // A panic is a bug; it still gets a 500 in the negotiated format, not a dropped connection.
    let routed = Router::new()
        .merge(api)
        .fallback(|| async { ApiError::NotFound })
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal.into_response()
        }));
    Router::new()
        .fallback_service(routed)
        .layer(middleware::from_fn_with_state(PublicUrl(public_url), edge))
}

/// Completes a route: `OPTIONS` answers 204 with `Allow`, any other verb 405 with `Allow`.
fn methods(allow: &'static str, router: MethodRouter<AppState>) -> MethodRouter<AppState> {
    router
        .options(move || async move { allow_response(allow) })
        .fallback(move || async move { ApiError::MethodNotAllowed { allow } })
}

fn allow_response(allow: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
