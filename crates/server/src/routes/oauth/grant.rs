//! `POST /oauth/token` with the `authorization_code` (RFC 6749 §4.1.3, PKCE
//! per RFC 7636) and `refresh_token` (§6) grants. The client is public: it
//! proves itself with the code verifier, then with the refresh token.
//!
//! Every check that needs no write runs first (client, redirect URI,
//! verifier, resource, scope); the store then redeems the code or uses the
//! refresh token in one transaction, which is where replays are caught.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use sitegpt_access::catalog::{Catalog, Scopes};
use sitegpt_access::device::RandomCode;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::oauth::{ACCESS_TOKEN_SECS, IDLE_DAYS, REFRESH_GRACE_SECS, ResourceKind, verify_s256};
use sitegpt_access::token::RefreshToken;
use sitegpt_access::{CreatedVia, PlainToken, ScopeSet};
use sitegpt_api_types::OAuthTokenResponse;
use sitegpt_store::{Grant, GrantIssue, NewToken, OAuthClient, RedeemOutcome, RefreshOutcome};

use super::{Form, OAuthError, json_no_store, truncate};
use crate::clients::ClientError;
use crate::issue::NAME_MAX;
use crate::state::AppState;

pub fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, "invalid_target", description)
}

/// The client named by `client_id`, which must be one this server knows.
async fn stored_client(state: &AppState, form: &Form) -> Result<OAuthClient, OAuthError> {
    let id = form.single("client_id")?.ok_or_else(|| OAuthError::invalid_client("`client_id` is required"))?;
    state.clients.find(id).await.map_err(|e| match e {
        ClientError::Store(e) => OAuthError::server_error(e),
        refused => OAuthError::invalid_client(refused.to_string()),
    })
}

/// `resource`, where given, must name the grant's resource (RFC 8707 §2.2).
pub fn check_resource<R: ResourceKind>(public_url: &str, form: &Form, granted: R) -> Result<(), OAuthError> {
    let Some(indicator) = form.single("resource")? else { return Ok(()) };
    match R::from_indicator(public_url, indicator) {
        None => Err(invalid_target(format!(
            "`{}` is not a resource of this server; use {}",
            truncate(indicator, 200),
            R::choices(public_url)
        ))),
        Some(resource) if resource != granted => Err(invalid_target(format!(
            "the grant is for {}, not {}",
            granted.url(public_url),
            resource.url(public_url)
        ))),
        Some(_) => Ok(()),
    }
}

/// The parameters of an `authorization_code` request.
#[derive(Debug)]
pub struct CodeRequest<'f> {
    pub code: RandomCode,
    redirect_uri: &'f str,
    verifier: &'f str,
}

impl<'f> CodeRequest<'f> {
    /// `code`, `redirect_uri` and `code_verifier`, each required.
    pub fn read(form: &'f Form) -> Result<CodeRequest<'f>, OAuthError> {
        Ok(CodeRequest {
            code: RandomCode::from_client(form.required("code")?),
            redirect_uri: form.required("redirect_uri")?,
            verifier: form.required("code_verifier")?,
        })
    }

    /// What redemption checks before any write: the grant is the client's,
    /// for this redirect URI, and the verifier matches its challenge.
    pub fn check(
        &self,
        client_id: &str,
        grant_client_id: &str,
        redirect_uri: &str,
        challenge: &str,
    ) -> Result<(), OAuthError> {
        if grant_client_id != client_id {
            return Err(invalid_grant("The authorization code was issued to another client."));
        }
        if self.redirect_uri != redirect_uri {
            return Err(invalid_grant("`redirect_uri` is not the one the code was issued for."));
        }
        verify_s256(self.verifier, challenge).map_err(|e| invalid_grant(&e.to_string()))
    }
}

/// The token a redemption issued, or OAuth's error for why none was.
pub fn redeemed<T>(outcome: RedeemOutcome<T>, grant_id: &str, client_id: &str) -> Result<Box<T>, OAuthError> {
    match outcome {
        RedeemOutcome::Issued(record) => Ok(record),
        RedeemOutcome::Unknown => Err(invalid_grant("The authorization code is not valid.")),
        RedeemOutcome::Expired => Err(invalid_grant("The authorization code has expired; authorize again.")),
        RedeemOutcome::Revoked => Err(invalid_grant("The grant was revoked; authorize again.")),
        RedeemOutcome::Replayed => {
            tracing::warn!(%grant_id, %client_id, "authorization code replayed; grant revoked");
            Err(invalid_grant("The authorization code was already used; every token issued from it is now revoked."))
        }
    }
}

/// The token a refresh issued, or OAuth's error for why none was.
pub fn refreshed<T>(outcome: RefreshOutcome<T>, grant_id: &str, client_id: &str) -> Result<Box<T>, OAuthError> {
    match outcome {
        RefreshOutcome::Issued(record) => Ok(record),
        RefreshOutcome::Unknown => Err(invalid_grant("The refresh token is not valid.")),
        RefreshOutcome::Ended => Err(invalid_grant("The grant was revoked or went unused too long; authorize again.")),
        RefreshOutcome::Reused => {
            tracing::warn!(%grant_id, %client_id, "refresh token reused; grant revoked");
            Err(invalid_grant("The refresh token was already used; the grant and its tokens are now revoked."))
        }
    }
}

/// The scopes a refresh asks for: the grant's, or fewer (RFC 6749 §6).
pub fn narrowed<C: Catalog>(form: &Form, granted: Scopes<C>) -> Result<Scopes<C>, OAuthError> {
    let Some(asked) = form.single("scope")?.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(granted) };
    let invalid_scope = |description: String| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", description);
    let scopes = Scopes::<C>::parse_space_separated(asked)
        .map_err(|e| invalid_scope(format!("{e}; see scopes_supported in the server metadata")))?;
    let beyond = scopes.difference(granted);
    if !beyond.is_empty() {
        return Err(invalid_scope(format!("the grant does not include {}", beyond.to_space_separated())));
    }
    Ok(scopes)
}

/// The access token and refresh token one use of the grant issues.
fn issue_for(grant: &Grant, client: &OAuthClient, scopes: ScopeSet) -> (GrantIssue, PlainToken, RefreshToken) {
    let now = Utc::now();
    let plain = PlainToken::generate();
    let refresh = RefreshToken::generate();
    let token = NewToken {
        id: new_id(IdKind::Token),
        account_id: grant.account_id.clone(),
        user_id: grant.user_id.clone(),
        name: client.name.chars().take(NAME_MAX).collect(),
        hash: plain.hash(),
        hint: plain.hint(),
        scopes,
        chatbots: grant.chatbots.clone(),
        created_via: CreatedVia::OAuth,
        now,
        expires_at: now + Duration::seconds(ACCESS_TOKEN_SECS),
        allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
    };
    (GrantIssue { token, refresh_hash: refresh.hash() }, plain, refresh)
}

/// The token response (RFC 6749 §5.1): a bearer access token living
/// `lifetime`, its scopes, and the next refresh token; never cached.
pub fn token_answer(access_token: String, lifetime: Duration, scope: String, refresh_token: String) -> Response {
    json_no_store(OAuthTokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: lifetime.num_seconds(),
        scope,
        refresh_token: Some(refresh_token),
    })
}

fn answer(record: &sitegpt_store::TokenRecord, plain: PlainToken, refresh: RefreshToken) -> Response {
    let lifetime = record.expires_at - record.created_at;
    token_answer(plain.expose(), lifetime, record.scopes.to_space_separated(), refresh.expose())
}

/// `grant_type=authorization_code`.
pub async fn authorization_code(state: &AppState, form: &Form) -> Result<Response, OAuthError> {
    let client = stored_client(state, form).await?;
    let request = CodeRequest::read(form)?;
    let code = &request.code;
    let Some(grant) = state.store.grant_by_code(code.hash()).await? else {
        return Err(invalid_grant("The authorization code is not valid."));
    };
    request.check(&client.id, &grant.client_id, &grant.redirect_uri, &grant.code_challenge)?;
    check_resource(&state.public_url, form, grant.resource)?;
    let (issue, plain, refresh) = issue_for(&grant, &client, grant.scopes);
    let outcome = state.store.redeem_code(code.hash(), issue, &crate::audit::origin()).await?;
    let record = redeemed(outcome, &grant.id, &client.id)?;
    tracing::info!(grant_id = %grant.id, token_id = %record.id, client_id = %client.id, "authorization code redeemed");
    let how = format!("by the app “{}” you connected (OAuth)", client.name);
    crate::notices::tell_owner_of_new_token(state, &record, &how).await;
    Ok(answer(&record, plain, refresh))
}

/// `grant_type=refresh_token`.
pub async fn refresh_token(state: &AppState, form: &Form) -> Result<Response, OAuthError> {
    let client = stored_client(state, form).await?;
    let Ok(refresh) = RefreshToken::parse(form.required("refresh_token")?) else {
        return Err(invalid_grant("The refresh token is not valid."));
    };
    let Some(grant) = state.store.grant_by_refresh(refresh.hash()).await? else {
        return Err(invalid_grant("The refresh token is not valid."));
    };
    if grant.client_id != client.id {
        return Err(invalid_grant("The refresh token was issued to another client."));
    }
    let scopes = narrowed(form, grant.scopes)?;
    check_resource(&state.public_url, form, grant.resource)?;
    let (issue, plain, next) = issue_for(&grant, &client, scopes);
    let grace = Duration::seconds(REFRESH_GRACE_SECS);
    let outcome = state.store.refresh_grant(refresh.hash(), issue, grace, Duration::days(IDLE_DAYS)).await?;
    let record = refreshed(outcome, &grant.id, &client.id)?;
    tracing::info!(grant_id = %grant.id, token_id = %record.id, "grant refreshed");
    Ok(answer(&record, plain, next))
}
