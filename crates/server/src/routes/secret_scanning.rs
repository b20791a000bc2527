//! `POST /secret-scanning/github`: leaked-token reports in GitHub's
//! secret-scanning partner format. GitHub signs each report's raw body with
//! ECDSA P-256 / SHA-256 (`Github-Public-Key-Signature`, base64 DER) under a
//! key it names (`Github-Public-Key-Identifier`); the operator configures
//! GitHub's public keys as a file (`SITEGPT_SECRET_SCANNING_KEYS`, GitHub's
//! own JSON document), so nothing is fetched at run time. A report with a
//! bad or missing signature is 401 and changes nothing. Every reported token
//! that exists is revoked at once (on every node, by the store's auth epoch),
//! a refresh token ends its grant, and the owner is mailed where it was
//! found. The answer is GitHub's feedback array.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sitegpt_access::PlainToken;
use sitegpt_access::token::RefreshToken;
use sitegpt_store::{Actor, AuditEvent, OutgoingMail, Reason};

use crate::state::AppState;

/// Reports handled in one request; GitHub sends far fewer at a time.
const REPORTS_MAX: usize = 1_000;
/// The longest reported string looked at.
const TOKEN_MAX: usize = 256;

/// One match GitHub found.
#[derive(Debug, Deserialize)]
pub struct Report {
    token: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// What this server says about one match.
#[derive(Debug, Serialize)]
pub struct Feedback {
    token_hash: String,
    token_type: String,
    label: &'static str,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

pub async fn github(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(keys) = &state.secret_scanning else {
        return refuse(StatusCode::NOT_FOUND, "leaked-token reports are not set up on this server");
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(signature)) = (header("github-public-key-identifier"), header("github-public-key-signature"))
    else {
        return refuse(StatusCode::UNAUTHORIZED, "the report is not signed");
    };
    if !keys.verify(id, signature, &body) {
        tracing::warn!(key = %id.chars().take(80).collect::<String>(), "a leaked-token report with a bad signature");
        return refuse(StatusCode::UNAUTHORIZED, "the report's signature does not verify");
    }
    let reports: Vec<Report> = match serde_json::from_slice(&body) {
        Ok(reports) => reports,
        Err(_) => {
            return refuse(StatusCode::BAD_REQUEST, "the report is not a JSON array of {token, type, url, source}");
        }
    };
    if reports.len() > REPORTS_MAX {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "at most 1,000 matches per report");
    }
    let mut feedback = Vec::with_capacity(reports.len());
    for report in reports {
        let found = match handle(&state, &report).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "a leaked-token report could not be handled");
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again later");
            }
        };
        feedback.push(Feedback {
            token_hash: hex(&Sha256::digest(report.token.as_bytes())),
            token_type: report.kind,
            label: if found { "true_positive" } else { "false_positive" },
        });
    }
    state.mail.wake();
    (StatusCode::OK, Json(feedback)).into_response()
}

/// Revokes the reported credential if it is one of ours; whether it was.
async fn handle(state: &AppState, report: &Report) -> Result<bool, sitegpt_store::StoreError> {
    if report.token.len() > TOKEN_MAX {
        return Ok(false);
    }
    let now = Utc::now();
    let place = Place::of(report);
    let by = Actor {
        service: Some("github-secret-scanning"),
        reason: Some(Reason::LeakReported { url: place.url.clone() }),
        ..crate::audit::origin()
    };
    if let Ok(token) = PlainToken::parse(&report.token) {
        let Some(found) = state.store.token_for_auth(token.hash()).await? else { return Ok(false) };
        let record = &found.token;
        if record.revoked_at.is_none() {
            state.store.revoke_token(&record.id, now, &by).await?;
        } else {
            // Nothing changes, but the owner still learns where it was seen.
            state.store.record_event(AuditEvent::token_revoked(record, &by, now)).await?;
        }
        tracing::warn!(token_id = %record.id, "token reported as leaked and revoked");
        let mail = leaked_mail(&found.user_email, &format!("token “{}”", record.name), &place, &state.public_url);
        state.store.queue_mail(OutgoingMail { user_id: Some(record.user_id.clone()), ..mail }, now).await?;
        return Ok(true);
    }
    if let Ok(refresh) = RefreshToken::parse(&report.token) {
        let Some(grant) = state.store.grant_by_refresh(refresh.hash()).await? else { return Ok(false) };
        state.store.revoke_grant(&grant.id, None, now, &by).await?;
        tracing::warn!(grant_id = %grant.id, "refresh token reported as leaked; its grant ended");
        if let Some(member) = state.store.member(&grant.account_id, &grant.user_id).await? {
            let what = format!("refresh token of the app “{}”", grant.client_name);
            let mail = leaked_mail(&member.user.email, &what, &place, &state.public_url);
            state.store.queue_mail(OutgoingMail { user_id: Some(grant.user_id.clone()), ..mail }, now).await?;
        }
        return Ok(true);
    }
    Ok(false)
}

/// Where a match was found, as the mail tells it.
struct Place {
    url: String,
    source: String,
}

impl Place {
    fn of(report: &Report) -> Place {
        let clean = |s: &Option<String>, fallback: &str| {
            s.as_deref()
                .map(|s| s.chars().filter(|c| !c.is_control()).take(500).collect::<String>())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| fallback.to_owned())
        };
        Place { url: clean(&report.url, "(no address given)"), source: clean(&report.source, "public content") }
    }
}

fn leaked_mail(to: &str, what: &str, place: &Place, public_url: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: "A SiteGPT token of yours was found in public and revoked".into(),
        body: format!(
            "Hello,\n\nGitHub found your SiteGPT {what} in public {source}:\n\n    {url}\n\n\
             We revoked it at once, so it no longer works anywhere. Remove it from where it was published, \
             then create a new token for whatever used it:\n\n    {public_url}/dashboard/agents\n\n\
             If you did not publish it, check who else had it.\n",
            source = place.source,
            url = place.url,
        ),
        link: None,
        user_id: None,
        html: None,
        unsubscribe: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
