//! The whole router: API v2 from the route table in [`crate::api`] (each
//! handler carrying its route's rule, which the [`Caller`] extractor
//! requires), the API document, OAuth, the MCP endpoint, the pages, the
//! deprecated v0 API, and the fallbacks for unknown paths and methods.
//!
//! [`Caller`]: crate::auth::Caller

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

pub use crate::api::{ApiMethod, ApiRoute, QueryParam, SchemaFn, api_routes};
use crate::cors;
use crate::error::ApiError;
use crate::mcp;
use crate::openapi;
use crate::request::{self, BODY_LIMIT};
use crate::routes::{health, oauth, v0};
use crate::state::AppState;
use crate::web;

/// What browser-based clients (the MCP Inspector, web apps) call from other
/// origins: discovery, registration, the token and revocation endpoints.
/// Bearer tokens and form bodies, never cookies, so any origin may ask.
fn cross_origin_oauth() -> Router<AppState> {
    // The layer answers preflights, but only for a method the route has.
    let preflight = || async { axum::http::StatusCode::NO_CONTENT };
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(oauth::metadata::authorization_server).options(preflight))
        .route(
            "/.well-known/oauth-protected-resource",
            get(oauth::metadata::protected_resource_root).options(preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/api/v2",
            get(oauth::metadata::protected_resource_api_v2).options(preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(oauth::metadata::protected_resource_mcp).options(preflight),
        )
        .route("/oauth/register", post(oauth::register::register).options(preflight))
        .route("/oauth/token", post(oauth::token::token).options(preflight))
        .route("/oauth/revoke", post(oauth::revoke::revoke).options(preflight))
        .layer(middleware::from_fn_with_state(cors::GET_POST, cors::bearer))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(cross_origin_oauth())
        .route("/oauth/authorize", get(web::authorize::show).post(web::authorize::decide))
        .route("/oauth/device_authorization", post(oauth::device::device_authorization))
        .route("/oauth/introspect", post(oauth::introspect::introspect))
        .route("/secret-scanning/github", post(crate::routes::secret_scanning::github))
        .route("/", get(web::home::home))
        .route("/docs", get(web::docs::docs))
        .route("/assets/app.css", get(web::assets::css))
        .route("/assets/favicon.svg", get(web::assets::favicon))
        .route("/assets/app.js", get(web::assets::script))
        .route("/signup", get(web::auth::signup_form).post(web::auth::signup))
        .route("/login", get(web::auth::login_form).post(web::auth::login))
        .route("/logout", post(web::auth::logout))
        .route("/verify-email", get(web::auth::verify_email))
        .route("/verify-email/resend", post(web::auth::resend_verification))
        .route("/device", get(web::device::show).post(web::device::decide))
        .route("/api/v0", any(v0::dispatch))
        .route("/api/v0/{*rest}", any(v0::dispatch))
        .route("/dashboard", get(|| async { web::redirect("/dashboard/agents") }))
        .route("/dashboard/agents", get(web::agents::show).post(web::tokens::create))
        .route("/dashboard/agents/new", get(web::tokens::new_form))
        .route("/dashboard/agents/{id}", get(web::agents::detail))
        .route("/dashboard/agents/{id}/{action}", get(web::tokens::confirm).post(web::tokens::act))
        .route("/dashboard/security", get(web::security::show))
        .route("/dashboard/settings", get(web::settings::show))
        .route("/dashboard/settings/team", post(web::settings::rename))
        .route("/dashboard/settings/password", post(web::settings::change_password))
        .route("/dashboard/settings/sessions", post(web::settings::end_other_sessions))
        .route("/dashboard/settings/notices", post(web::settings::notices))
        .route("/forgot-password", get(web::password::request_form).post(web::password::request))
        .route("/reset-password", get(web::password::choose_form).post(web::password::choose))
        .route("/dashboard/apps", get(web::apps::show))
        .route("/dashboard/chatbots", get(web::chatbots::show).post(web::chatbots::create))
        .route("/dashboard/chatbots/{id}/rename", post(web::chatbots::rename))
        .route("/dashboard/chatbots/{id}/delete", get(web::chatbots::confirm_delete).post(web::chatbots::delete))
        .route("/dashboard/mcp", get(web::mcp::show))
        .route("/dashboard/apps/{id}/revoke", post(web::apps::revoke))
        .route("/invitations", get(web::invitations::show))
        .route("/invitations/{id}/accept", post(web::invitations::accept))
        .route("/invitations/{id}/decline", post(web::invitations::decline))
        .route("/dashboard/members", get(web::members::show).post(web::members::invite))
        .route("/dashboard/members/{user_id}/role", post(web::members::change_role))
        .route("/dashboard/members/invitations/{id}/withdraw", post(web::members::withdraw))
        .route("/dashboard/members/{user_id}/remove", get(web::members::confirm_remove).post(web::members::remove));
    let api = crate::api::router(Router::new()).with_state(state.clone());
    let routes = routes.merge(mcp::routes(&state, api));
    crate::api::router(routes)
        .route("/api/v2/openapi.json", get(openapi::serve))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), request::context))
        .with_state(state)
}

/// Browsers get a page; API clients (and every `/api/` path) the envelope.
async fn no_route(headers: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        web::WebError::NotFound.into_response()
    } else {
        ApiError::NoRoute.into_response()
    }
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
