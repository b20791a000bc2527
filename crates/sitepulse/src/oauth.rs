//! SitePulse's OAuth 2.0 authorization server, for MCP and API clients that
//! sign in through the browser: discovery (RFC 8414, RFC 9728), dynamic
//! registration of public clients (RFC 7591), and the `authorization_code`
//! (PKCE `S256`) and rotating `refresh_token` grants at `/oauth/token`. The
//! consent page is in `consent.rs`.
//!
//! The protocol's parts are the engine's (`sitegpt_server::routes::oauth`:
//! form bodies, OAuth's error JSON, the registration checks, the
//! authorization request's checks; `sitegpt_access::oauth`: PKCE, lifetimes,
//! resource indicators); what SitePulse adds is its catalog, its resources
//! (`/api/v1` and `/mcp`) and its store. Access tokens are `spat_` tokens of
//! the person who approved, living an hour, for the one resource asked for.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::oauth::{ACCESS_TOKEN_SECS, IDLE_DAYS, REFRESH_GRACE_SECS, ResourceKind};
use sitegpt_access::sitepulse::{PulseAccessToken, PulseRefreshToken, PulseResource, PulseScope, PulseScopes};
use sitegpt_server::routes::oauth::grant::{
    CodeRequest, check_resource, invalid_grant, narrowed, redeemed, refreshed, token_answer,
};
use sitegpt_server::routes::oauth::register::Registration;
use sitegpt_server::routes::oauth::{Form, OAuthError, truncate};
use sitegpt_store::OAuthClient;
use sitegpt_store::pulse::{NewPulseToken, PulseGrant, PulseGrantIssue, PulseTokenRecord};

use crate::api::AppState;

/// A token's name: the client's, cut to the length token names may have.
const NAME_MAX: usize = 100;

/// The OAuth endpoints and discovery documents.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(authorization_server))
        .route("/.well-known/oauth-protected-resource/mcp", get(|s| protected_resource(s, PulseResource::Mcp)))
        .route("/.well-known/oauth-protected-resource/api/v1", get(|s| protected_resource(s, PulseResource::ApiV1)))
        .route("/oauth/register", post(register))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
}

fn scope_names() -> Vec<&'static str> {
    PulseScopes::all().iter().map(PulseScope::as_str).collect()
}

/// RFC 8414 metadata.
async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let issuer = &*state.public_url;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "registration_endpoint": format!("{issuer}/oauth/register"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": scope_names(),
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/docs"),
    }))
}

/// RFC 9728 metadata of one of SitePulse's resources.
async fn protected_resource(State(state): State<AppState>, resource: PulseResource) -> Json<Value> {
    Json(json!({
        "resource": resource.url(&state.public_url),
        "resource_name": match resource {
            PulseResource::ApiV1 => "SitePulse API v1",
            PulseResource::Mcp => "SitePulse MCP server",
        },
        "authorization_servers": [&*state.public_url],
        "scopes_supported": scope_names(),
        "bearer_methods_supported": ["header"],
        "resource_documentation": format!("{}/docs", state.public_url),
    }))
}

/// `POST /oauth/register`: a public client, which proves itself with PKCE.
async fn register(State(state): State<AppState>, request: Request) -> Result<Response, OAuthError> {
    let address = sitegpt_server::conn::client_addr(request.extensions());
    let registration = Registration::read(request, &state).await?;
    // Each registration stores a row: counted once the request is valid.
    if let Some(wait) = state.registrations.blocked(&address) {
        return Err(OAuthError::rate_limited(wait.as_secs(), "client registrations"));
    }
    state.registrations.fail(&address);
    let client = registration.client(Utc::now());
    state.store.save_client(client.clone()).await?;
    tracing::info!(client_id = %client.id, "OAuth client registered");
    Ok(registration.answer(&client))
}

/// `POST /oauth/token`.
async fn token(State(state): State<AppState>, form: Form) -> Result<Response, OAuthError> {
    match form.required("grant_type")? {
        "authorization_code" => authorization_code(&state, &form).await,
        "refresh_token" => refresh_token(&state, &form).await,
        other => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("`{}` is not supported; use authorization_code or refresh_token", truncate(other, 80)),
        )),
    }
}

/// `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it. A
/// refresh token ends its whole grant (the app is disconnected); an access
/// token is revoked alone, whether an app's or one made in the dashboard.
/// Unknown and malformed tokens answer 200 as well, as the RFC requires.
async fn revoke(State(state): State<AppState>, form: Form) -> Result<Response, OAuthError> {
    if form.single("client_id")?.is_some() {
        stored_client(&state, &form).await?;
    }
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    let now = Utc::now();
    if let Ok(refresh) = PulseRefreshToken::parse(token) {
        if let Some(grant) = state.store.grant_by_refresh(refresh.hash()).await? {
            match state.store.revoke_grant(&grant.user_id, &grant.id, now).await {
                Ok(()) | Err(sitegpt_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            tracing::info!(grant_id = %grant.id, "grant revoked through OAuth revocation");
        }
    } else if let Ok(hash) = PulseAccessToken::hash_of(token)
        && let Some(found) = state.store.token_for_auth(hash).await?
    {
        state.store.revoke_token(&found.token.user_id, &found.token.id, now).await?;
        tracing::info!(token_id = %found.token.id, "token revoked through OAuth revocation");
    }
    Ok(sitegpt_server::routes::oauth::no_store(StatusCode::OK.into_response()))
}

/// The client named by `client_id`, which must be registered here.
async fn stored_client(state: &AppState, form: &Form) -> Result<OAuthClient, OAuthError> {
    let id = form.single("client_id")?.ok_or_else(|| OAuthError::invalid_client("`client_id` is required"))?;
    state
        .store
        .oauth_client(id)
        .await?
        .ok_or_else(|| OAuthError::invalid_client(format!("unknown client `{}`", truncate(id, 64))))
}

/// The access token and refresh token one use of the grant issues.
fn issue_for(
    grant: &PulseGrant,
    client: &OAuthClient,
    scopes: PulseScopes,
) -> (PulseGrantIssue, PulseAccessToken, PulseRefreshToken) {
    let now = Utc::now();
    let plain = PulseAccessToken::generate();
    let refresh = PulseRefreshToken::generate();
    let token = NewPulseToken {
        user_id: grant.user_id.clone(),
        name: client.name.chars().take(NAME_MAX).collect(),
        hash: plain.hash(),
        hint: plain.hint(),
        scopes,
        created_at: now,
        expires_at: now + Duration::seconds(ACCESS_TOKEN_SECS),
    };
    (PulseGrantIssue { token, refresh_hash: refresh.hash() }, plain, refresh)
}

fn answer(record: &PulseTokenRecord, plain: PulseAccessToken, refresh: PulseRefreshToken) -> Response {
    let lifetime = record.expires_at - record.created_at;
    token_answer(plain.expose(), lifetime, record.scopes.to_space_separated(), refresh.expose())
}

async fn authorization_code(state: &AppState, form: &Form) -> Result<Response, OAuthError> {
    let client = stored_client(state, form).await?;
    let request = CodeRequest::read(form)?;
    let Some(grant) = state.store.grant_by_code(request.code.hash()).await? else {
        return Err(invalid_grant("The authorization code is not valid."));
    };
    request.check(&client.id, &grant.client_id, &grant.redirect_uri, &grant.code_challenge)?;
    check_resource(&state.public_url, form, grant.resource)?;
    let (issue, plain, refresh) = issue_for(&grant, &client, grant.scopes);
    let record = redeemed(state.store.redeem_code(request.code.hash(), issue).await?, &grant.id, &client.id)?;
    tracing::info!(grant_id = %grant.id, token_id = %record.id, client_id = %client.id, "authorization code redeemed");
    Ok(answer(&record, plain, refresh))
}

async fn refresh_token(state: &AppState, form: &Form) -> Result<Response, OAuthError> {
    let client = stored_client(state, form).await?;
    let Ok(refresh) = PulseRefreshToken::parse(form.required("refresh_token")?) else {
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
    let (grace, idle) = (Duration::seconds(REFRESH_GRACE_SECS), Duration::days(IDLE_DAYS));
    let outcome = state.store.refresh_grant(refresh.hash(), issue, grace, idle).await?;
    let record = refreshed(outcome, &grant.id, &client.id)?;
    tracing::info!(grant_id = %grant.id, token_id = %record.id, "grant refreshed");
    Ok(answer(&record, plain, next))
}
