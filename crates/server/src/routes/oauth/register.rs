//! `POST /oauth/register`: dynamic client registration (RFC 7591) for public
//! clients, which prove themselves with PKCE instead of a secret.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::oauth::{REDIRECT_URIS_MAX, check_redirect_uri};
use sitegpt_store::{ClientSource, OAuthClient};

use super::{OAuthError, truncate};
use crate::conn::ClientAddr;
use crate::issue::check_name;
use crate::ratelimit::CLIENT_REGISTRATION;
use crate::state::AppState;

/// Shown where a client gave no name.
pub const UNNAMED: &str = "Unnamed application";

/// The metadata this server reads (RFC 7591 §2); other fields are ignored
/// and not echoed.
#[derive(Debug, Deserialize)]
struct Metadata {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
}

fn invalid(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, description)
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    invalid("invalid_client_metadata", description)
}

/// The client as registered, or why not (RFC 7591 §3.2.2).
fn accept(metadata: Metadata) -> Result<(Vec<String>, Vec<String>, String), OAuthError> {
    match metadata.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(metadata_error(format!(
                "token_endpoint_auth_method `{}` is not supported: register a public client with `none` and use PKCE",
                truncate(other, 40)
            )));
        }
    }
    let grant_types = metadata.grant_types.unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(other) = grant_types.iter().find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token")) {
        return Err(metadata_error(format!(
            "grant type `{}` cannot be registered; use authorization_code and refresh_token",
            truncate(other, 80)
        )));
    }
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err(metadata_error("grant_types must include authorization_code"));
    }
    let response_types = metadata.response_types.unwrap_or_else(|| vec!["code".into()]);
    if response_types != ["code"] {
        return Err(metadata_error("response_types must be [\"code\"]"));
    }
    let redirect_uris = metadata.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(invalid("invalid_redirect_uri", "redirect_uris must list at least one URI"));
    }
    if redirect_uris.len() > REDIRECT_URIS_MAX {
        return Err(invalid("invalid_redirect_uri", format!("at most {REDIRECT_URIS_MAX} redirect_uris")));
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|why| invalid("invalid_redirect_uri", truncate(&why, 300)))?;
    }
    let name = match metadata.client_name.map(|n| n.trim().to_owned()) {
        Some(name) if !name.is_empty() => {
            check_name(&name).map_err(|e| metadata_error(format!("client_{e}")))?;
            name
        }
        _ => UNNAMED.to_owned(),
    };
    let mut grant_types = grant_types;
    grant_types.dedup();
    Ok((redirect_uris, grant_types, name))
}

/// A valid registration request (RFC 7591 §2).
#[derive(Debug)]
pub struct Registration {
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub name: String,
}

impl Registration {
    /// Reads and checks the client metadata of a registration request.
    pub async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Registration, OAuthError> {
        let is_json = crate::request::media_type(request.headers()).as_deref() == Some("application/json");
        if !is_json {
            return Err(metadata_error("send the client metadata as application/json"));
        }
        let body = super::read_body(request, state).await?;
        let metadata: Metadata = serde_json::from_slice(&body).map_err(|e| {
            metadata_error(format!("the body is not valid client metadata: {}", truncate(&e.to_string(), 200)))
        })?;
        let (redirect_uris, grant_types, name) = accept(metadata)?;
        Ok(Registration { redirect_uris, grant_types, name })
    }

    /// The client to store, under a new id.
    pub fn client(&self, now: chrono::DateTime<Utc>) -> OAuthClient {
        OAuthClient {
            id: new_id(IdKind::Client),
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            source: ClientSource::Registered,
            created_at: now,
            last_used_at: now,
        }
    }

    /// `201` with the registered client's metadata (RFC 7591 §3.2.1).
    pub fn answer(&self, client: &OAuthClient) -> Response {
        let body: Value = json!({
            "client_id": client.id,
            "client_id_issued_at": client.created_at.timestamp(),
            "client_name": client.name,
            "redirect_uris": client.redirect_uris,
            "grant_types": self.grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        super::no_store((StatusCode::CREATED, Json(body)).into_response())
    }
}

pub async fn register(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    request: Request,
) -> Result<Response, OAuthError> {
    let registration = Registration::read(request, &state).await?;
    // Each registration stores a row: counted once the request is valid.
    if let Some(wait) = state.limits.take(&[(CLIENT_REGISTRATION, &address)]).await? {
        return Err(OAuthError::rate_limited(wait.as_secs(), "client registrations"));
    }
    let client = registration.client(Utc::now());
    state.store.save_client(client.clone()).await?;
    tracing::info!(client_id = %client.id, "OAuth client registered");
    Ok(registration.answer(&client))
}
