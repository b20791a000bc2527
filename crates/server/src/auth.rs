//! Bearer-token authentication for API v2.
//!
//! [`Caller`] is the extractor: it parses `Authorization`, verifies the token
//! (from the [`Verifier`]'s cache when it can), and runs steps 1–3 of the
//! decision (authenticated, e-mail verified, route scope present). Handlers
//! then call [`Caller::authorize`] with the resource they loaded for steps
//! 4–6. The route's scope comes from the [`RouteRule`] the route table
//! attached to the route, so a handler cannot forget it.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sitegpt_access::policy::{admit, admit_from, authorize_target};
use sitegpt_access::{Credential, Denial, PlainToken, Resource, Role, RouteRule, Target, TokenFacts};
use sitegpt_store::TokenAuth;

use crate::conn::client_addr;
use crate::error::ApiError;
use crate::state::AppState;
use crate::verify::Cached;
pub use crate::verify::{CACHE_CAPACITY, MAX_PENDING_USES, UNKNOWN_PER_MINUTE, UsageRecorder, Verified, Verifier};

/// An API caller whose token passed steps 1–3 for this route.
#[derive(Debug, Clone)]
pub struct Caller {
    verified: Arc<Verified>,
    rule: RouteRule,
}

impl Caller {
    /// Steps 4–6 for the resource the handler acts on.
    pub fn authorize(&self, target: Target<'_>) -> Result<(), ApiError> {
        authorize_target(&self.verified.facts, self.rule, target).map_err(ApiError::from)
    }

    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    pub fn auth(&self) -> &TokenAuth {
        &self.verified.auth
    }

    pub fn facts(&self) -> &TokenFacts {
        &self.verified.facts
    }

    pub fn account_id(&self) -> &str {
        &self.verified.auth.token.account_id
    }

    pub fn user_id(&self) -> &str {
        &self.verified.auth.token.user_id
    }

    pub fn token_id(&self) -> &str {
        &self.verified.auth.token.id
    }

    /// The caller as the audit log names it: its user, by its token, from
    /// the request's address.
    pub fn actor(&self) -> sitegpt_store::Actor {
        crate::audit::actor(self.user_id(), Some(self.token_id()))
    }

    /// The current role; admission guarantees there is one.
    pub fn role(&self) -> Role {
        self.verified.facts.role.unwrap_or(Role::Viewer)
    }
}

/// Reads `Authorization: Bearer <token>`: the token's bytes, not yet
/// checked. Anything else is malformed. (Bytes, not text: a header value
/// holds no control characters, so trimming ASCII whitespace is trimming
/// whitespace, and a token with other bytes fails its check later.)
pub fn bearer(parts: &Parts) -> Result<Option<&[u8]>, NotBearer> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(NotBearer);
    }
    let value = value.as_bytes().trim_ascii();
    let space = value.iter().position(|&b| b == b' ').ok_or(NotBearer)?;
    if !value[..space].eq_ignore_ascii_case(b"bearer") {
        return Err(NotBearer);
    }
    Ok(Some(value[space + 1..].trim_ascii()))
}

/// An `Authorization` header that is not one `Bearer <token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBearer;

/// A caller another layer already verified (the MCP endpoint, for the
/// API requests its tools make in-process): the [`Caller`] extractor takes
/// it instead of reading `Authorization`, and judges the route as one of
/// the MCP resource.
#[derive(Debug, Clone)]
pub struct Preverified(pub Arc<Verified>);

/// What a request presents as its bearer token, looked up.
#[derive(Debug)]
pub enum Presented {
    Missing,
    Malformed,
    Unknown,
    Found(Arc<Verified>),
}

impl Presented {
    pub fn credential(&self) -> Credential<'_> {
        match self {
            Presented::Missing => Credential::Missing,
            Presented::Malformed => Credential::Malformed,
            Presented::Unknown => Credential::Unknown,
            Presented::Found(verified) => Credential::Found(&verified.facts),
        }
    }
}

/// Reads and verifies the request's bearer token (from the cache when it
/// can). Fails only when the address has sent too many unknown tokens.
///
/// The token's hash is looked up in the cache first: a hit is a token the
/// store knew, so its shape needs no check; the shape and checksum are
/// checked before anything else reads it. `unix_nanos` is the request's
/// reading of the clock ([`crate::clock::read`]).
pub async fn present(parts: &Parts, state: &AppState, unix_nanos: u64) -> Result<Presented, ApiError> {
    let token = match bearer(parts) {
        Ok(None) => return Ok(Presented::Missing),
        Err(NotBearer) => return Ok(Presented::Malformed),
        Ok(Some(token)) => token,
    };
    let hash = PlainToken::hash_unchecked(token);
    let epoch = match state.verifier.cached(&hash, unix_nanos)? {
        Cached::Hit(verified) => return Ok(Presented::Found(verified)),
        Cached::Miss { epoch } => epoch,
    };
    if !std::str::from_utf8(token).is_ok_and(|token| PlainToken::check(token).is_ok()) {
        return Ok(Presented::Malformed);
    }
    Ok(match state.verifier.look_up(hash, epoch, || client_addr(&parts.extensions)).await? {
        Some(verified) => Presented::Found(verified),
        None => Presented::Unknown,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map(axum::extract::MatchedPath::as_str);
        let rule = route
            .and_then(|route| crate::rules::rule_for(&parts.method, route))
            .ok_or_else(|| ApiError::Internal("route has no authorization rule".into()))?;
        let clock = crate::clock::read();
        let now = clock.at;
        let client = || crate::conn::client_ip(&parts.extensions);
        if let Some(Preverified(verified)) = parts.extensions.get::<Preverified>() {
            let rule = rule.on(Resource::Mcp);
            admit_from(Credential::Found(&verified.facts), rule, now, client())?;
            return Ok(Caller { verified: Arc::clone(verified), rule });
        }
        let verified = match present(parts, state, clock.unix_nanos).await? {
            Presented::Found(verified) => verified,
            other => return Err(refuse(other.credential(), rule, now)),
        };
        // The address is read where it decides (an allowlist) or is recorded.
        let address = if verified.facts.allowed_ips.is_restricted() { client() } else { None };
        admit_from(Credential::Found(&verified.facts), rule, now, address).map_err(|denial| {
            if matches!(denial, Denial::AddressNotAllowed(_)) {
                state.refusals.note(&state.store, &verified.auth.token);
            }
            ApiError::from(denial)
        })?;
        state.usage.record(&verified, now, client, || parts.headers.get(axum::http::header::USER_AGENT));
        Ok(Caller { verified, rule })
    }
}

/// The denial for a credential that cannot pass step 1.
fn refuse(credential: Credential<'_>, rule: RouteRule, now: DateTime<Utc>) -> ApiError {
    match admit(credential, rule, now) {
        Err(denial) => denial.into(),
        Ok(_) => ApiError::Internal("a request without a known token was admitted".into()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Request};

    use super::*;

    fn parts(values: &[&[u8]]) -> Parts {
        let mut request = Request::new(());
        for value in values {
            let value = HeaderValue::from_bytes(value).expect("a header value");
            request.headers_mut().append(AUTHORIZATION, value);
        }
        request.into_parts().0
    }

    /// The token as text, as the header was read before it was read as
    /// bytes: visible ASCII only, trimmed, split at the first space.
    fn as_text(parts: &Parts) -> Result<Option<&str>, ()> {
        let mut values = parts.headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else { return Ok(None) };
        if values.next().is_some() {
            return Err(());
        }
        let (scheme, token) = value.to_str().map_err(drop)?.trim().split_once(' ').ok_or(())?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(());
        }
        Ok(Some(token.trim()))
    }

    #[test]
    fn the_bearer_token_is_read_as_text_reading_would_accept_it() {
        let token = PlainToken::generate().expose();
        let header = format!("Bearer {token}").into_bytes();
        let spaced = format!("  bEaReR   {token} \t").into_bytes();
        // A real token behind another scheme or separator is still refused.
        let basic = format!("Basic {token}").into_bytes();
        let tab = format!("Bearer\t{token}").into_bytes();
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![],
            vec![&header],
            vec![&spaced],
            vec![&header, b"Bearer x"],
            vec![b"Basic dXNlcjpwYXNz"],
            vec![b"Bearer"],
            vec![b"Bearer\tsgpt_x"],
            vec![b""],
            vec![b"Bearer sgpt_\xc3\xa9t\xc3\xa9"],
            vec![b"Bearer sgpt_\xff"],
            vec![b"Be\xc3\xa4rer sgpt_x"],
            vec![b"Bearer sgpt_a b"],
            vec![&basic],
            vec![&tab],
        ];
        for values in cases {
            let parts = parts(&values);
            let read = bearer(&parts);
            // Where text reading refused non-ASCII, the bytes go on to the
            // token's check, which refuses them: malformed either way.
            let well_formed = |token: &[u8]| std::str::from_utf8(token).is_ok_and(|t| PlainToken::check(t).is_ok());
            match (as_text(&parts), read) {
                (Ok(text), Ok(bytes)) if text.map(str::as_bytes) == bytes => {}
                (Err(()), Err(NotBearer)) => {}
                (Err(()), Ok(Some(bytes))) => assert!(!well_formed(bytes), "{values:?}"),
                (text, bytes) => panic!("{values:?}: {text:?} as text, {bytes:?} as bytes"),
            }
        }
        assert_eq!(bearer(&parts(&[&header])), Ok(Some(token.as_bytes())));
        assert_eq!(bearer(&parts(&[&spaced])), Ok(Some(token.as_bytes())));
    }
}
