//! `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it. An
//! access token is revoked alone; a refresh token ends its whole grant.
//! Unknown and malformed tokens answer 200 as well, as the RFC requires.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sitegpt_access::PlainToken;
use sitegpt_access::token::RefreshToken;

use super::{Form, OAuthError, no_store, public_client, truncate};
use crate::conn::ClientAddr;
use crate::state::AppState;

pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    form: Form,
) -> Result<Response, OAuthError> {
    if let Some(id) = form.single("client_id")?
        && public_client(id).is_none()
        && state.store.oauth_client(id).await?.is_none()
    {
        return Err(OAuthError::invalid_client(format!("unknown client `{}`", truncate(id, 64))));
    }
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    if let Ok(refresh) = RefreshToken::parse(token) {
        if let Some(wait) = state.verifier.unknown_lookups_blocked(&address) {
            return Err(OAuthError::rate_limited(wait.as_secs(), "unknown tokens"));
        }
        match state.store.grant_by_refresh(refresh.hash()).await? {
            Some(grant) => {
                // Whoever holds a grant's refresh token acts for its user.
                let by = crate::audit::actor(&grant.user_id, None);
                state.store.revoke_grant(&grant.id, None, Utc::now(), &by).await?;
                tracing::info!(grant_id = %grant.id, "grant revoked through OAuth revocation");
            }
            None => state.verifier.count_unknown_lookup(&address),
        }
        return Ok(no_store(StatusCode::OK.into_response()));
    }
    // Through the verifier, so unknown tokens count against the address's
    // budget for unknown credentials, as they do on the API.
    if let Ok(token) = PlainToken::parse(token)
        && let Some(found) = state.verifier.verify(token.hash(), || address.clone()).await?
    {
        let id = &found.auth.token.id;
        let by = crate::audit::actor(&found.auth.token.user_id, Some(id));
        state.store.revoke_token(id, Utc::now(), &by).await?;
        tracing::info!(token_id = %id, "token revoked through OAuth revocation");
    }
    Ok(no_store(StatusCode::OK.into_response()))
}
