//! SitePulse's API v1 (`/api/v1`): teams, sites, check runs and issues,
//! guarded by personal access tokens in the documentation's order (see
//! `sitegpt_access::sitepulse::policy`). Every route is in [`ROUTES`] with
//! its rule; the [`Caller`] extractor finds the rule of the route that
//! matched, so a handler cannot run without steps 1–3, and reaches a team's
//! records only through [`Caller::in_team`] (steps 4–6).

mod auth;
mod docs;
pub mod error;
mod handlers;
mod input;
pub mod openapi;
pub mod routes;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

pub use self::auth::{Caller, Presented, ViaMcp, present, resource_of};
pub use self::error::ApiError;
pub use self::routes::{ApiRoute, AppState, ROUTES, rule_for};

/// API v1's routes, with the fallbacks for unknown paths and methods.
pub fn router(state: AppState) -> Router {
    with_fallbacks(routes()).with_state(state)
}

/// The fallbacks of the whole application: JSON answers for unknown paths
/// and methods.
pub fn with_fallbacks(router: Router<AppState>) -> Router<AppState> {
    router.fallback(|| async { ApiError::NoRoute }).method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

/// API v1's routes, the API document and the reference page.
pub fn routes() -> Router<AppState> {
    use handlers as h;
    Router::new()
        .route("/api/v1/teams", get(h::teams))
        .route("/api/v1/teams/{team}", get(h::team).patch(h::update_team))
        .route("/api/v1/teams/{team}/sites", get(h::sites).post(h::create_site))
        .route("/api/v1/sites/{site}", get(h::site).patch(h::update_site).delete(h::delete_site))
        .route("/api/v1/sites/{site}/checks", get(h::checks).merge(post(h::queue_check)))
        .route("/api/v1/checks/{check}", get(h::check).delete(h::delete_check))
        .route("/api/v1/teams/{team}/issues", get(h::issues))
        .route("/api/v1/issues/{issue}", get(h::issue))
        .route("/api/v1/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .route("/docs", get(docs::page))
}
