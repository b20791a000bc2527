//! `POST /oauth/device_authorization` (RFC 8628 §3.1–3.2).

use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Utc};
use sitegpt_access::device::{DeviceCode, EXPIRES_IN_SECS, INTERVAL_SECS, UserCode};
use sitegpt_access::id::{IdKind, is_plausible_id, new_sorted_id};
use sitegpt_access::{AccessLevel, ChatbotRestriction, ScopeSet};
use sitegpt_api_types::DeviceAuthorizationResponse;
use sitegpt_store::{NewDeviceAuthorization, StoreError};

use super::{Form, OAuthError, json_no_store, require_client, truncate};
use crate::conn::ClientAddr;
use crate::issue::{CHATBOTS_MAX, check_name};
use crate::ratelimit::{DEVICE_ADDRESS, use_of, wait_for};
use crate::state::AppState;

/// Parses `scope`: space-separated catalog names; omitted or empty = Standard.
pub fn parse_scope(scope: Option<&str>) -> Result<ScopeSet, OAuthError> {
    match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(AccessLevel::Standard.scopes()),
        Some(s) => ScopeSet::parse_space_separated(s).map_err(|e| {
            OAuthError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_scope",
                format!("{e}; see scopes_supported in the server metadata"),
            )
        }),
    }
}

pub async fn device_authorization(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    form: Form,
) -> Result<Response, OAuthError> {
    let client = require_client(&form)?;
    let scopes = parse_scope(form.single("scope")?)?;
    let chatbot_ids: Vec<String> = form.all("chatbot_id").map(str::to_owned).collect();
    if chatbot_ids.len() > CHATBOTS_MAX || chatbot_ids.iter().any(|id| !is_plausible_id(id)) {
        return Err(OAuthError::invalid_request("`chatbot_id` must be chatbot ids (at most 100)"));
    }
    let token_name = form.single("token_name")?.map(str::to_owned);
    if let Some(name) = &token_name {
        check_name(name).map_err(|e| OAuthError::invalid_request(format!("token_{e}")))?;
    }
    let now = Utc::now();
    let id = new_sorted_id(IdKind::Device);
    let device_code = DeviceCode::generate(&id);
    // A fresh user code collides with a pending one about once in 10^10; retry.
    for _ in 0..5 {
        let user_code = UserCode::generate();
        // Each authorization stores a row: counted once the request is
        // valid, in the transaction that stores it (a taken user code undoes
        // both, so a retry counts once).
        let created = state
            .store
            .create_device_authorization_counted(
                NewDeviceAuthorization {
                    id: id.clone(),
                    device_code_hash: device_code.hash(),
                    user_code: user_code.normalized().to_owned(),
                    client_id: client.id.to_owned(),
                    scopes,
                    chatbots: ChatbotRestriction::from_ids(chatbot_ids.clone()),
                    token_name: token_name.clone(),
                    now,
                    expires_at: now + Duration::seconds(EXPIRES_IN_SECS),
                    interval_secs: INTERVAL_SECS,
                },
                use_of(&DEVICE_ADDRESS, &address, now),
            )
            .await;
        match created {
            Ok(Err(window)) => {
                let wait = wait_for(&DEVICE_ADDRESS, window, now);
                return Err(OAuthError::rate_limited(wait.as_secs(), "device authorizations"));
            }
            Ok(Ok(device)) => {
                tracing::info!(device_id = %device.id, client_id = client.id, "device authorization started");
                let verification_uri = format!("{}/device", state.public_url);
                return Ok(json_no_store(DeviceAuthorizationResponse {
                    device_code: device_code.expose(),
                    verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
                    user_code: user_code.to_string(),
                    verification_uri,
                    expires_in: EXPIRES_IN_SECS,
                    interval: INTERVAL_SECS,
                }));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::server_error(format!("no free user code for client {}", truncate(client.id, 32))))
}
