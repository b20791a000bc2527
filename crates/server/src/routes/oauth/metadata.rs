//! Discovery documents: RFC 8414 authorization-server metadata and RFC 9728
//! protected-resource metadata.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sitegpt_access::{Resource, Scope};

use super::CLI_CLIENT_ID;
use crate::state::AppState;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn scopes() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(state): State<AppState>) -> Response {
    let issuer = &*state.public_url;
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "device_authorization_endpoint": format!("{issuer}/oauth/device_authorization"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "registration_endpoint": format!("{issuer}/oauth/register"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes(),
        "token_endpoint_auth_methods_supported": ["none"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "bearer"],
        "service_documentation": format!("{issuer}/docs"),
        "sitegpt_public_client_ids": [CLI_CLIENT_ID],
    });
    cached(body)
}

fn protected_resource(state: &AppState, resource: String, name: &str) -> Response {
    cached(json!({
        "resource": resource,
        "authorization_servers": [&*state.public_url],
        "scopes_supported": scopes(),
        "bearer_methods_supported": ["header"],
        "resource_name": name,
        "resource_documentation": format!("{}/docs", state.public_url),
    }))
}

/// `GET /.well-known/oauth-protected-resource`: the server as a whole.
pub async fn protected_resource_root(State(state): State<AppState>) -> Response {
    let resource = state.public_url.to_string();
    protected_resource(&state, resource, "SiteGPT API v2")
}

/// `GET /.well-known/oauth-protected-resource/api/v2`: what `WWW-Authenticate`
/// points at.
pub async fn protected_resource_api_v2(State(state): State<AppState>) -> Response {
    let resource = Resource::ApiV2.url(&state.public_url);
    protected_resource(&state, resource, "SiteGPT API v2")
}

/// `GET /.well-known/oauth-protected-resource/mcp`: the MCP endpoint's
/// document (RFC 9728), whose `resource` clients ask tokens for.
pub async fn protected_resource_mcp(State(state): State<AppState>) -> Response {
    let resource = Resource::Mcp.url(&state.public_url);
    protected_resource(&state, resource, "SiteGPT MCP server")
}

fn cached(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("public, max-age=3600"));
    response
}
