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

/// Reads `Authorization: Bearer <token>`: the token, not yet checked.
/// Anything else is malformed.
fn bearer(parts: &Parts) -> Result<Option<&str>, ()> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(());
    }
    let value = value.to_str().map_err(drop)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(());
    }
    Ok(Some(token.trim()))
}

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
/// checked before anything else reads it.
pub async fn present(parts: &Parts, state: &AppState) -> Result<Presented, ApiError> {
    let token = match bearer(parts) {
        Ok(None) => return Ok(Presented::Missing),
        Err(()) => return Ok(Presented::Malformed),
        Ok(Some(token)) => token,
    };
    let hash = PlainToken::hash_unchecked(token);
    let epoch = match state.verifier.cached(&hash)? {
        Cached::Hit(verified) => return Ok(Presented::Found(verified)),
        Cached::Miss { epoch } => epoch,
    };
    if PlainToken::check(token).is_err() {
        return Ok(Presented::Malformed);
    }
    Ok(match state.verifier.look_up(hash, epoch, || client_addr(&parts.extensions)).await? {
        Some(verified) => Presented::Found(verified),
        None => Presented::Unknown,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    #[tracing::instrument(name = "authenticate", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map(axum::extract::MatchedPath::as_str);
        let rule = route
            .and_then(|route| crate::rules::rule_for(&parts.method, route))
            .ok_or_else(|| ApiError::Internal("route has no authorization rule".into()))?;
        let now = Utc::now();
        let client = crate::conn::client_ip(&parts.extensions);
        if let Some(Preverified(verified)) = parts.extensions.get::<Preverified>() {
            let rule = rule.on(Resource::Mcp);
            admit_from(Credential::Found(&verified.facts), rule, now, client)?;
            return Ok(Caller { verified: Arc::clone(verified), rule });
        }
        let verified = match present(parts, state).await? {
            Presented::Found(verified) => verified,
            other => return Err(refuse(other.credential(), rule, now)),
        };
        admit_from(Credential::Found(&verified.facts), rule, now, client).map_err(|denial| {
            if matches!(denial, Denial::AddressNotAllowed(_)) {
                state.refusals.note(&state.store, &verified.auth.token);
            }
            ApiError::from(denial)
        })?;
        state.usage.record(&verified, now, client, parts.headers.get(axum::http::header::USER_AGENT));
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
