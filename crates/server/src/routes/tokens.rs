//! `/api/v2/tokens`: list, create, get, rotate, revoke.
//!
//! A caller sees and acts on its own user's tokens; owners and admins may
//! also list (`?owner=all`), get and revoke every token of their account.
//! Tokens of other accounts, and other users' tokens for everyone else, are
//! 404. Minting and rotating never hand out more than the caller holds.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use sitegpt_access::id::is_plausible_id;
use sitegpt_access::issuance::{Issuer, ViaToken, check_issuance};
use sitegpt_access::{CreatedVia, PlainToken, Target};
use sitegpt_api_types::{CreateTokenRequest, IssuedToken, Page, TokenData};
use sitegpt_store::{TokenQuery, TokenRecord};

use super::oauth::no_store;
use super::paging::{next_page, window};
use super::{created, ok};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::issue::{self, check_chatbots_exist, issuance_error, to_wire};
use crate::request::{JsonBody, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    include_revoked: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(_) => Err(ApiError::validation(vec![name.into()], format!("{name} must be true or false"))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let params = params.parse()?;
    let include_revoked = parse_bool("includeRevoked", params.include_revoked.as_deref())?;
    let (limit, after) = window(params.limit.as_deref(), params.cursor.as_deref())?;
    let user_id = match params.owner.as_deref() {
        None | Some("me") => Some(caller.user_id().to_owned()),
        Some("all") if caller.role().manages_account() => None,
        Some("all") => return Err(ApiError::forbidden("Only owners and admins can list every token of the account.")),
        Some(_) => return Err(ApiError::validation(vec!["owner".into()], "owner must be `me` or `all`")),
    };
    let records = state
        .store
        .list_tokens(TokenQuery {
            account_id: caller.account_id().to_owned(),
            user_id,
            include_revoked,
            limit: limit + 1,
            after,
        })
        .await?;
    let (records, next_cursor) = next_page(records, limit, |r| (r.created_at, r.id.as_str()));
    Ok(ok(Page { items: records.iter().map(to_wire).collect(), next_cursor }))
}

fn issuer(caller: &Caller) -> Issuer<'_> {
    let facts = caller.facts();
    let via = ViaToken { scopes: facts.scopes, chatbots: &facts.chatbots, expires_at: facts.expires_at };
    Issuer { role: caller.role(), via_token: Some(via) }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<CreateTokenRequest>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let now = Utc::now();
    let request = body.parse()?;
    let requested_order: Vec<sitegpt_access::Scope> = request.scopes.iter().filter_map(|s| s.parse().ok()).collect();
    let mut spec = issue::validate(request, now)?;
    let issuer = issuer(&caller);
    if spec.expiry_field.is_none() {
        // The default lifetime ends, at the latest, with the calling token.
        spec.expires_at = issuer.cap_expiry(spec.expires_at);
    }
    check_issuance(&issuer, spec.scopes, &spec.chatbots, spec.expires_at)
        .map_err(|denied| issuance_error(denied, &requested_order, spec.chatbots.ids(), spec.expiry_field))?;
    // A token limited to certain addresses makes only tokens limited to them.
    spec.allowed_ips = spec.allowed_ips.within(&caller.facts().allowed_ips).map_err(|outside| {
        ApiError::forbidden(format!(
            "The calling token may be used only from {}; it cannot create a token usable from {outside}.",
            caller.facts().allowed_ips.ranges().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ))
    })?;
    check_chatbots_exist(state.store.as_ref(), caller.account_id(), &spec.chatbots).await?;
    let (record, plain) = issue::issue(
        state.store.as_ref(),
        caller.account_id(),
        caller.user_id(),
        spec,
        CreatedVia::Api,
        now,
        &caller.actor(),
    )
    .await?;
    // The plaintext exists only in this answer: never cached.
    let mut response = no_store(created(issued(&record, plain)));
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v2/tokens/{}", record.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn issued(record: &TokenRecord, plain: PlainToken) -> IssuedToken {
    IssuedToken { token: to_wire(record), plaintext_token: plain.expose() }
}

/// Who may see a token: its own user, or an owner or admin of its account.
enum Access {
    Own,
    AsManager,
}

/// Loads a token and runs steps 4–6 for it; other users' tokens are 404 for
/// callers who do not manage the account.
async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<(TokenRecord, Access), ApiError> {
    let record = if is_plausible_id(id) { state.store.token(id).await? } else { None };
    let access = record.as_ref().and_then(|r| {
        if r.account_id != caller.account_id() {
            None
        } else if r.user_id == caller.user_id() {
            Some(Access::Own)
        } else if caller.role().manages_account() {
            Some(Access::AsManager)
        } else {
            None
        }
    });
    let target = match (&record, &access) {
        (None, _) => Target::Missing,
        (Some(_), access) => Target::Record { same_account: access.is_some(), chatbot: None },
    };
    caller.authorize(target)?;
    match (record, access) {
        (Some(record), Some(access)) => Ok((record, access)),
        _ => Err(ApiError::not_found()),
    }
}

pub async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (record, _) = load(&state, &caller, &id).await?;
    Ok(ok(TokenData { token: to_wire(&record) }))
}

pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (record, access) = load(&state, &caller, &id).await?;
    if matches!(access, Access::AsManager) {
        return Err(ApiError::forbidden(
            "Only the token's own user can rotate it; owners and admins can revoke it instead.",
        ));
    }
    let issuer = issuer(&caller);
    issue::check_rotation(&record, &issuer)?;
    let (rotated, plain) = issue::rotate(state.store.as_ref(), &record, &issuer, Utc::now(), &caller.actor()).await?;
    Ok(no_store(ok(issued(&rotated, plain))))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (record, _) = load(&state, &caller, &id).await?;
    let revoked = state.store.revoke_token(&record.id, Utc::now(), &caller.actor()).await?;
    tracing::info!(token_id = %revoked.id, by_user = caller.user_id(), "token revoked");
    Ok(ok(TokenData { token: to_wire(&revoked) }))
}
