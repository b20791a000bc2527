//! CORS for the endpoints browser-based clients call with bearer tokens and
//! form bodies, never cookies: discovery, registration, token, revocation and
//! MCP. Any origin may ask, since no ambient credential rides along (the MCP
//! endpoint's guard then refuses an `Origin` other than the public URL's).

use axum::http::{HeaderName, header};

/// CORS for bearer-token endpoints: any origin, the MCP headers.
pub fn bearer(methods: impl Into<tower_http::cors::AllowMethods>) -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(methods)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-protocol-version"),
        ])
        .max_age(std::time::Duration::from_secs(3600))
}
