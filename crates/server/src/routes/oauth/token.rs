//! `POST /oauth/token`: the device-code grant (RFC 8628 §3.4–3.5) here, the
//! authorization-code and refresh grants in `grant.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use sitegpt_access::PlainToken;
use sitegpt_access::device::DeviceCode;
use sitegpt_access::expiry::DEFAULT_DAYS;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_api_types::OAuthTokenResponse;
use sitegpt_store::{DevicePoll, DevicePollOutcome};

use super::metadata::DEVICE_GRANT;
use super::{Form, OAuthError, json_no_store, require_client, truncate};
use crate::state::AppState;

fn error(error: &'static str, description: &str) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, description)
}

pub async fn token(State(state): State<AppState>, form: Form) -> Result<Response, OAuthError> {
    match form.required("grant_type")? {
        DEVICE_GRANT => device_code(&state, &form).await,
        "authorization_code" => super::grant::authorization_code(&state, &form).await,
        "refresh_token" => super::grant::refresh_token(&state, &form).await,
        other => Err(error(
            "unsupported_grant_type",
            &format!(
                "`{}` is not supported; use authorization_code, refresh_token or {DEVICE_GRANT}",
                truncate(other, 80)
            ),
        )),
    }
}

async fn device_code(state: &AppState, form: &Form) -> Result<Response, OAuthError> {
    let client = require_client(form)?;
    let device_code = DeviceCode::from_client(form.required("device_code")?);
    let Some(device_id) = device_code.device_id() else { return Err(unknown_device_code()) };
    let now = Utc::now();
    let hash = device_code.hash();
    // Most polls find nothing to issue: they are answered from one read,
    // before any token is made.
    let memo = &state.poll_memo;
    let remembered = memo.answer(&hash, client.id, now);
    let answered = match remembered {
        Some(outcome) => Some(outcome),
        None => {
            let generation = memo.generation();
            let answer = state.store.answer_device_poll(device_id, hash, client.id, now).await?;
            answer.map(|answer| {
                memo.remember(hash, client.id, &answer, now, generation);
                answer.outcome
            })
        }
    };
    let (outcome, plain) = match answered {
        Some(outcome) => (outcome, None),
        None => {
            let plain = PlainToken::generate();
            let poll = DevicePoll {
                device_id: device_id.to_owned(),
                device_code_hash: hash,
                client_id: client.id.to_owned(),
                now,
                token_id: new_id(IdKind::Token),
                token_hash: plain.hash(),
                token_hint: plain.hint(),
                default_name: format!("{} on {}", client.name, now.format("%Y-%m-%d")),
                token_expires_at: now + Duration::days(DEFAULT_DAYS),
            };
            (state.store.poll_device(poll, &crate::audit::origin()).await?, Some(plain))
        }
    };
    match outcome {
        DevicePollOutcome::Issued(record) => {
            let plain = plain.ok_or_else(|| OAuthError::server_error("a token was issued from a read"))?;
            tracing::info!(token_id = %record.id, client_id = client.id, "device authorization redeemed");
            let how = format!("by a device login of {}", client.name);
            crate::notices::tell_owner_of_new_token(state, &record, &how).await;
            Ok(json_no_store(OAuthTokenResponse {
                access_token: plain.expose(),
                token_type: "Bearer".into(),
                expires_in: (record.expires_at - now).num_seconds(),
                scope: record.scopes.to_space_separated(),
                refresh_token: None,
            }))
        }
        DevicePollOutcome::Pending => {
            Err(error("authorization_pending", "The request has not been approved yet; keep polling."))
        }
        DevicePollOutcome::SlowDown { interval_secs } => Err(OAuthError {
            interval: Some(interval_secs),
            ..error("slow_down", &format!("Polling too fast; wait {interval_secs} seconds between polls."))
        }),
        DevicePollOutcome::Denied => Err(error("access_denied", "The request was denied.")),
        DevicePollOutcome::Expired => Err(error("expired_token", "The device code has expired; start again.")),
        DevicePollOutcome::AlreadyRedeemed => Err(error("invalid_grant", "The device code was already used.")),
        DevicePollOutcome::WrongClient => Err(error("invalid_grant", "The device code was issued to another client.")),
        DevicePollOutcome::Unknown => Err(unknown_device_code()),
    }
}

fn unknown_device_code() -> OAuthError {
    error("invalid_grant", "The device code is not valid.")
}
