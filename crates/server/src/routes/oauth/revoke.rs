//! `POST /oauth/revoke` (RFC 7009): whoever holds a token may revoke it.
//! Unknown and malformed tokens answer 200 as well, as the RFC requires.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sitegpt_access::PlainToken;

use super::{Form, OAuthError, no_store, public_client, truncate};
use crate::state::AppState;

pub async fn revoke(State(state): State<AppState>, form: Form) -> Result<Response, OAuthError> {
    if let Some(id) = form.single("client_id")?
        && public_client(id).is_none()
    {
        return Err(OAuthError::invalid_client(format!("unknown client `{}`", truncate(id, 64))));
    }
    let token = form.required("token")?;
    form.single("token_type_hint")?;
    if let Ok(token) = PlainToken::parse(token)
        && let Some(found) = state.store.token_for_auth(token.hash()).await?
    {
        state.store.revoke_token(&found.token.id, Utc::now()).await?;
        tracing::info!(token_id = %found.token.id, "token revoked through OAuth revocation");
    }
    Ok(no_store(StatusCode::OK.into_response()))
}
