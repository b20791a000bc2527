//! `POST /oauth/introspect` (RFC 7662), for other services.
//!
//! The caller is either a registered confidential client (HTTP Basic, from
//! `SITEGPT_INTROSPECTION_CLIENTS`), which may introspect any token, or a
//! bearer token with `tokens:read`, which may introspect tokens of its own
//! account. Anything else about the token (unknown, revoked, expired, another
//! account) is `{"active": false}`.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde_json::json;
use sitegpt_access::policy::admit;
use sitegpt_access::{Credential, PlainToken, RouteRule, Scope};

use super::{CLI_CLIENT_ID, Form, OAuthError, json_no_store};
use crate::state::AppState;

/// Who is asking.
enum Introspector {
    Client,
    Account(String),
}

async fn introspector(state: &AppState, headers: &HeaderMap, peer: &str) -> Result<Introspector, OAuthError> {
    let header = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (scheme, value) = header.split_once(' ').unwrap_or(("", ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(value.trim()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
        let (id, secret) = decoded.split_once(':').unwrap_or(("", ""));
        return if state.introspection_clients.verify(id, secret) {
            Ok(Introspector::Client)
        } else {
            Err(OAuthError::invalid_client("client authentication failed"))
        };
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let rule = RouteRule::exempt(Scope::TokensRead);
        let now = Utc::now();
        let verified = match PlainToken::parse(value.trim()) {
            Ok(token) => state.verifier.verify(token.hash(), || peer.to_owned()).await?,
            Err(_) => None,
        };
        let credential = verified.as_ref().map_or(Credential::Unknown, |v| Credential::Found(&v.facts));
        return match (admit(credential, rule, now), &verified) {
            (Ok(_), Some(v)) => Ok(Introspector::Account(v.auth.token.account_id.clone())),
            (Err(sitegpt_access::Denial::InsufficientScope(_)), _) => Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "introspection needs a token with tokens:read",
            )),
            _ => Err(OAuthError::invalid_client("the bearer token is not valid")),
        };
    }
    Err(OAuthError::invalid_client(
        "authenticate with HTTP Basic (a registered client) or a bearer token with tokens:read",
    ))
}

pub async fn introspect(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, OAuthError> {
    let peer = crate::conn::client_addr(&extensions);
    let caller = introspector(&state, &headers, &peer).await?;
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    let inactive = || json_no_store(json!({"active": false}));
    let Ok(token) = PlainToken::parse(token) else { return Ok(inactive()) };
    let Some(verified) = state.verifier.verify(token.hash(), || peer.clone()).await? else { return Ok(inactive()) };
    let now = Utc::now();
    if sitegpt_access::policy::authenticate(Credential::Found(&verified.facts), now).is_err() {
        return Ok(inactive());
    }
    let record = &verified.auth.token;
    if let Introspector::Account(account_id) = &caller
        && *account_id != record.account_id
    {
        return Ok(inactive());
    }
    let mut body = json!({
        "active": true,
        "scope": verified.facts.effective_scopes().to_space_separated(),
        "token_type": "Bearer",
        "exp": record.expires_at.timestamp(),
        "iat": record.secret_issued_at.timestamp(),
        "sub": record.user_id,
        "username": verified.auth.user_email,
        "iss": &*state.public_url,
        "aud": format!("{}/api/v2", state.public_url),
        "jti": record.id,
        "account_id": record.account_id,
        "chatbot_ids": record.chatbots.ids(),
        "email_verified": verified.auth.email_verified,
    });
    if record.created_via == sitegpt_access::CreatedVia::CliDevice {
        body["client_id"] = json!(CLI_CLIENT_ID);
    }
    Ok(json_no_store(body))
}
