//! The route table. Every API v2 route is declared here with the one scope it
//! requires (and whether it needs an active subscription); the [`Caller`]
//! extractor refuses to serve a route that has no rule.
//!
//! [`Caller`]: crate::auth::Caller

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use axum::{Extension, Router};
use sitegpt_access::{RouteRule, Scope};

use crate::error::ApiError;
use crate::request::{self, BODY_LIMIT};
use crate::routes::{account, health, oauth, tokens};
use crate::state::AppState;
use crate::web;

/// A handler for one method, with the rule it is guarded by.
fn guarded<H, T>(method: MethodFilter, rule: RouteRule, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    on(method, handler).route_layer(Extension(rule))
}

use MethodFilter as M;
use RouteRule as R;

/// `/api/v2`, registered with full paths (no nested router on the hot path).
/// Account and token routes are exempt from the subscription check so that a
/// team with a lapsed subscription can still see who it is and manage its
/// credentials.
fn api_v2(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/v2/account", guarded(M::GET, R::exempt(Scope::AccountRead), account::show))
        .route(
            "/api/v2/tokens",
            guarded(M::GET, R::exempt(Scope::TokensRead), tokens::list).merge(guarded(
                M::POST,
                R::exempt(Scope::TokensWrite),
                tokens::create,
            )),
        )
        .route("/api/v2/tokens/{id}", guarded(M::GET, R::exempt(Scope::TokensRead), tokens::show))
        .route("/api/v2/tokens/{id}/rotate", guarded(M::POST, R::exempt(Scope::TokensWrite), tokens::rotate))
        .route("/api/v2/tokens/{id}/revoke", guarded(M::POST, R::exempt(Scope::TokensWrite), tokens::revoke))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/oauth-authorization-server", get(oauth::metadata::authorization_server))
        .route("/.well-known/oauth-protected-resource", get(oauth::metadata::protected_resource_root))
        .route("/.well-known/oauth-protected-resource/api/v2", get(oauth::metadata::protected_resource_api_v2))
        .route("/oauth/device_authorization", post(oauth::device::device_authorization))
        .route("/oauth/token", post(oauth::token::token))
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route("/oauth/introspect", post(oauth::introspect::introspect))
        .route("/", get(web::home::home))
        .route("/docs", get(web::home::docs))
        .route("/assets/app.css", get(web::assets::css))
        .route("/assets/favicon.svg", get(web::assets::favicon))
        .route("/signup", get(web::auth::signup_form).post(web::auth::signup))
        .route("/login", get(web::auth::login_form).post(web::auth::login))
        .route("/logout", post(web::auth::logout))
        .route("/verify-email", get(web::auth::verify_email))
        .route("/verify-email/resend", post(web::auth::resend_verification))
        .route("/device", get(web::device::show).post(web::device::decide));
    api_v2(routes)
        .route_layer(middleware::from_fn(remember_route))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), request::context))
        .with_state(state)
}

/// Passes the matched route template out to the access log.
async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
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
