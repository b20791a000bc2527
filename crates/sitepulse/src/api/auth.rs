//! The caller of an API v1 route: its personal access token, checked in
//! the documentation's order. Steps 1–3 (token, verified e-mail, scope)
//! run in the extractor with the matched route's rule; steps 4–6
//! (membership, plan, team permission) when the handler names the team.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use sitegpt_access::sitepulse::{
    PulseAccessToken, PulseCredential, PulseDenial, PulseResource, PulseRule, PulseToken, TeamStanding, admit,
    authenticate, authorize_team,
};
use sitegpt_store::pulse::{PulseTokenAuth, PulseTokenRecord, Team, TeamMember};

use super::error::ApiError;
use super::routes::{AppState, rule_for};

/// How stale a token's `last_used_at` may get before a use writes it.
const TOUCH_AFTER: Duration = Duration::seconds(60);

/// Marks the in-process request the MCP endpoint makes for a tool call: the
/// API then serves tokens issued for the MCP resource (and refuses those
/// issued for the API, as the endpoint itself does). A request from outside
/// cannot carry it.
#[derive(Debug, Clone, Copy)]
pub struct ViaMcp;

/// The resource a request asks of.
pub fn resource_of(parts: &Parts) -> PulseResource {
    if parts.extensions.get::<ViaMcp>().is_some() { PulseResource::Mcp } else { PulseResource::ApiV1 }
}

impl Presented {
    /// Whether the token, if one was found, may be used at `resource`.
    pub fn check_resource(&self, resource: PulseResource) -> Result<(), ApiError> {
        match self {
            Presented::Found(found) if !resource.admits(found.token.audience) => Err(ApiError::OtherResource(resource)),
            _ => Ok(()),
        }
    }
}

/// A caller whose token passed steps 1–3 for the route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: PulseTokenRecord,
    rule: PulseRule,
    state: AppState,
}

impl Caller {
    pub fn user_id(&self) -> &str {
        &self.token.user_id
    }

    /// Steps 4–6 in the team `team_id` names (`None`: the record the route
    /// names does not exist, which answers as a team the caller is not in).
    pub async fn in_team(&self, team_id: Option<&str>) -> Result<(Team, TeamMember), ApiError> {
        let found = match team_id {
            Some(team_id) => {
                let member = self.state.store.member(team_id, self.user_id()).await?;
                match member {
                    Some(member) => self.state.store.team(team_id).await?.map(|team| (team, member)),
                    None => None,
                }
            }
            None => None,
        };
        let standing = found.as_ref().map(|(team, member)| TeamStanding {
            permissions: member.permissions,
            subscription_active: team.subscription_active,
        });
        authorize_team(self.rule, standing)?;
        found.ok_or(ApiError::Denied(PulseDenial::NotFound))
    }

    /// A record the route names (a site, a check run, an issue) with its
    /// team, once the caller passed steps 4–6 in that team; a record that
    /// does not exist answers as one of a team the caller is not in.
    pub async fn record_in_team<T>(&self, record: Option<T>, team_of: fn(&T) -> &str) -> Result<(T, Team), ApiError> {
        let (team, _) = self.in_team(record.as_ref().map(team_of)).await?;
        let record = record.ok_or(ApiError::Denied(PulseDenial::NotFound))?;
        Ok((record, team))
    }
}

/// What a request presents as its bearer token, looked up.
#[derive(Debug)]
pub enum Presented {
    Missing,
    Malformed,
    Unknown,
    Found(PulseTokenAuth),
}

impl Presented {
    /// Steps 1–2 for what was presented ([`authenticate`]): the facts of a
    /// live token of a verified owner, or why not.
    pub fn authenticate(&self, now: DateTime<Utc>) -> Result<PulseToken, PulseDenial> {
        let facts = match self {
            Presented::Missing => return authenticate(PulseCredential::Missing, now).cloned(),
            Presented::Malformed => return authenticate(PulseCredential::Malformed, now).cloned(),
            Presented::Unknown => return authenticate(PulseCredential::Unknown, now).cloned(),
            Presented::Found(found) => PulseToken {
                expires_at: found.token.expires_at,
                revoked_at: found.token.revoked_at,
                scopes: found.token.scopes,
                owner_email_verified: found.owner_email_verified,
            },
        };
        authenticate(PulseCredential::Found(&facts), now).cloned()
    }
}

/// Reads `Authorization: Bearer …` with the engine's reader (bytes; a token
/// that is not text fails its shape check like any other) and looks the
/// token up by its hash.
pub async fn present(parts: &Parts, state: &AppState) -> Result<Presented, ApiError> {
    let token = match sitegpt_server::auth::bearer(parts) {
        Ok(None) => return Ok(Presented::Missing),
        Err(_) => return Ok(Presented::Malformed),
        Ok(Some(token)) => token,
    };
    let Some(hash) = std::str::from_utf8(token).ok().and_then(|t| PulseAccessToken::hash_of(t).ok()) else {
        return Ok(Presented::Malformed);
    };
    Ok(state.store.token_for_auth(hash).await?.map_or(Presented::Unknown, Presented::Found))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let path = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
        let rule = path
            .and_then(|path| rule_for(parts.method.as_str(), path))
            .ok_or_else(|| ApiError::Internal("route has no authorization rule".into()))?;
        let now = Utc::now();
        let presented = present(parts, state).await?;
        let facts = presented.authenticate(now)?;
        presented.check_resource(resource_of(parts))?;
        admit(PulseCredential::Found(&facts), rule, now)?;
        let Presented::Found(found) = presented else {
            return Err(ApiError::Internal("a request without a known token was admitted".into()));
        };
        if found.token.last_used_at.is_none_or(|at| now - at >= TOUCH_AFTER) {
            let (store, id) = (state.store.clone(), found.token.id.clone());
            tokio::spawn(async move {
                if let Err(e) = store.touch_token(&id, now).await {
                    tracing::warn!(error = %e, "could not record a token's use");
                }
            });
        }
        Ok(Caller { token: found.token, rule, state: state.clone() })
    }
}
