//! Facts about the connection a request came on: the client's address.
//! It is the TCP peer, unless the peer is a trusted proxy
//! (`SITEGPT_TRUSTED_PROXIES`); then [`resolve_client`] reads the forwarding
//! headers once per request. Every rate limit, allowlist and record of where
//! a token was used takes the address from [`client_ip`], and nothing else
//! reads the peer or those headers.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderName, header};
use sitegpt_access::net::{self, IpRange};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address when it differs from the peer's (set by [`resolve_client`]).
#[derive(Debug, Clone, Copy)]
struct ForwardedClient(IpAddr);

/// The client's address, if the request came over TCP.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(ForwardedClient(ip)) = extensions.get::<ForwardedClient>() {
        return Some(*ip);
    }
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| net::canonical(c.0.ip()))
}

/// The client's address as text, for rate-limit keys and logs (`unknown`
/// when not served over TCP).
pub fn client_addr(extensions: &Extensions) -> String {
    client_ip(extensions).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Reads the forwarding headers when the peer is a trusted proxy, and
/// records the client it names. `Forwarded` wins over `X-Forwarded-For`.
pub fn resolve_client(extensions: &mut Extensions, headers: &HeaderMap, trusted: &[IpRange]) {
    // Without forwarding headers the client is the peer, proxy or not.
    if trusted.is_empty() || !(headers.contains_key(header::FORWARDED) || headers.contains_key(&X_FORWARDED_FOR)) {
        return;
    }
    let Some(peer) = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else { return };
    let values =
        |name: &HeaderName| headers.get_all(name).into_iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let forwarded = values(&header::FORWARDED);
    let hops = if forwarded.is_empty() {
        net::x_forwarded_for(values(&X_FORWARDED_FOR).into_iter())
    } else {
        net::forwarded_for(forwarded.into_iter())
    };
    let client = net::client_ip(peer, trusted, &hops);
    if client != net::canonical(peer) {
        extensions.insert(ForwardedClient(client));
    }
}

/// The client's address as an extractor that never fails, for handlers that
/// also read the body.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(&parts.extensions)))
    }
}
