//! The deprecated v0 API: whitelabel brands, their users, and v0 API keys.
//!
//! Served beside v2 for integrations written against it, with its own
//! credential (a UUID-shaped API key, stored only as a SHA-256 hash, sent as
//! `Authorization: Bearer <key>`; v2 tokens are not accepted here, nor v0
//! keys in v2), its own envelope (`{success, message, data, error}`), and
//! `Deprecation`, `Sunset` and `Link` headers on every answer.
//!
//! Each request is decided in this order: unknown path 404, method 405 (with
//! `Allow`), key 401 (429 for an address past its minute's budget of unknown
//! credentials), path and body 400, whitelabel customer and brand 403,
//! brand user 404; then the operation, whose failures are 500 without
//! internals.
//!
//! `mod.rs` parses the path and runs that order; `input.rs` checks ids and
//! bodies, `handlers.rs` does the operations, `envelope.rs` shapes every
//! answer, and `openapi.rs` is v0's part of the API document.

mod envelope;
mod handlers;
mod input;
mod openapi;
mod operation;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use sitegpt_access::v0_key;
use sitegpt_store::V0KeyOwner;

pub use self::envelope::Detail;
use self::envelope::*;
pub use self::handlers::new_numeric_id;
use self::handlers::*;
use self::input::*;
pub use self::openapi::{openapi_error_schema, openapi_paths};
use self::operation::Operation;
use crate::state::AppState;

/// When v0 was deprecated (RFC 9745 `Deprecation`: `@` and Unix seconds):
/// 2026-01-01T00:00:00Z.
pub const DEPRECATED_AT: i64 = 1_767_225_600;
/// When v0 stops being served (RFC 8594 `Sunset`).
pub const SUNSET: &str = "Wed, 30 Jun 2027 23:59:59 GMT";
/// Every `/api/v0/…` request.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let mut response = match Operation::parse(request.uri().path()) {
        Some(op) => match handle(&state, &op, request).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        },
        None => V0Error {
            status: StatusCode::NOT_FOUND,
            failure: "Failed to process the request",
            code: "REQUEST_PATH_NOT_FOUND".into(),
            message: "No v0 API endpoint has this path".into(),
            details: None,
            allow: None,
            retry_after: None,
        }
        .into_response(),
    };
    deprecation_headers(response.headers_mut(), &state.public_url);
    response
}

/// `Deprecation`, `Sunset`, and `Link` to the v2 documentation.
pub fn deprecation_headers(headers: &mut HeaderMap, public_url: &str) {
    headers.insert("deprecation", HeaderValue::from_str(&format!("@{DEPRECATED_AT}")).expect("ascii"));
    headers.insert("sunset", HeaderValue::from_static(SUNSET));
    let link = format!(
        "<{public_url}/docs>; rel=\"deprecation\"; type=\"text/html\", \
         <{public_url}/api/v2/openapi.json>; rel=\"successor-version\""
    );
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert(header::LINK, value);
    }
}

async fn handle(state: &AppState, op: &Operation, request: Request) -> Result<Response, V0Error> {
    if request.method() != op.method() {
        return Err(V0Error {
            allow: Some(op.method()),
            ..V0Error::new(
                op,
                StatusCode::METHOD_NOT_ALLOWED,
                "REQUEST_METHOD_NOT_ALLOWED",
                format!("{} request method is not allowed", request.method()),
            )
        });
    }
    let peer = crate::conn::client_addr(request.extensions());
    let caller = authenticate(state, op, request.headers(), &peer).await?;
    let (parts, body) = request.into_parts();
    let mut problems = check_ids(op);
    // Generating a key takes no body; whatever is sent is ignored.
    let input = match op {
        Operation::CreateUser { .. } => {
            let body = read_body(op, &parts.headers, body, &mut problems).await?;
            Input::User(check_new_user(&body, &mut problems))
        }
        Operation::UpdateQuota { .. } => {
            let body = read_body(op, &parts.headers, body, &mut problems).await?;
            Input::Quota(check_quota(&body, &mut problems))
        }
        Operation::GenerateKey { .. } => Input::None,
    };
    if !problems.is_empty() {
        return Err(V0Error::invalid(op, problems));
    }
    let brand = customer_brand(state, op, &caller).await?;
    let now = Utc::now();
    match (op, input) {
        (Operation::CreateUser { .. }, Input::User(Some(new))) => create_user(state, op, &brand, new, now).await,
        (Operation::GenerateKey { .. }, _) => {
            let user = brand_user(state, op, &brand).await?;
            generate_key(state, op, &user, now).await
        }
        (Operation::UpdateQuota { .. }, Input::Quota(Some(quota))) => {
            let user = brand_user(state, op, &brand).await?;
            update_quota(state, op, &user, quota, now).await
        }
        _ => Err(V0Error::failed(op, &"input checked but missing")),
    }
}

/// The owner of the presented v0 key. Lookups that find nothing count
/// against the address's budget for unknown credentials (shared with v2);
/// beyond it, 429 until the minute is over.
async fn authenticate(
    state: &AppState,
    op: &Operation,
    headers: &HeaderMap,
    peer: &str,
) -> Result<V0KeyOwner, V0Error> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_ascii_lowercase())
        .filter(|key| v0_key::is_shaped(key));
    let Some(key) = presented else { return Err(V0Error::unauthenticated(op)) };
    if let Some(wait) = state.verifier.unknown_lookups_blocked(peer) {
        let seconds = wait.as_secs().max(1);
        return Err(V0Error {
            retry_after: Some(seconds),
            ..V0Error::new(
                op,
                StatusCode::TOO_MANY_REQUESTS,
                "REQUEST_RATE_LIMITED",
                format!("Too many requests with unknown API keys from this address. Retry in {seconds} s."),
            )
        });
    }
    match state.store.v0_key(v0_key::hash(&key)).await {
        Ok(Some(found)) => Ok(found.owner),
        Ok(None) => {
            state.verifier.count_unknown_lookup(peer);
            Err(V0Error::unauthenticated(op))
        }
        Err(e) => Err(V0Error::failed(op, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_operations() {
        assert_eq!(
            Operation::parse("/api/v0/w/brands/1/users/2/api-key"),
            Some(Operation::GenerateKey { brand_id: "1".into(), user_id: "2".into() })
        );
        assert_eq!(
            Operation::parse("/api/v0/w/brands//users//api-key"),
            Some(Operation::GenerateKey { brand_id: String::new(), user_id: String::new() })
        );
        assert_eq!(Operation::parse("/api/v0/w/brands/1/users"), Some(Operation::CreateUser { brand_id: "1".into() }));
        assert_eq!(
            Operation::parse("/api/v0/w/brands/1/users/2/quota"),
            Some(Operation::UpdateQuota { brand_id: "1".into(), user_id: "2".into() })
        );
        for other in
            ["/api/v0", "/api/v0/w/brands/1", "/api/v0/w/brands/1/users/2", "/api/v0/w/brands/1/users/2/api-key/x"]
        {
            assert_eq!(Operation::parse(other), None, "{other}");
        }
    }

    #[test]
    fn numeric_ids_have_18_digits() {
        for _ in 0..100 {
            let id = new_numeric_id();
            assert_eq!(id.len(), 18, "{id}");
            assert!(is_id(&id));
        }
        assert!(!is_id("12a"));
        assert!(!is_id(&"1".repeat(21)));
    }
}
