//! Facts about the connection a request came on. The TCP peer address is
//! the client's address for every rate limit; no `X-Forwarded-For` is
//! trusted, and nothing else reads the peer.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The peer address, for rate limits (`unknown` when not served over TCP).
pub fn client_addr(parts_extensions: &axum::http::Extensions) -> String {
    parts_extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The peer address as an extractor that never fails, for handlers that
/// also read the body.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(&parts.extensions)))
    }
}
