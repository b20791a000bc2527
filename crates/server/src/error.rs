//! The one error type of the HTTP API, and the JSON envelope it renders to:
//! `{"ok": false, "error": {"code", "message", "details"}, "meta": {"requestId"}}`.
//! Internal errors are logged with their cause and shown as a bare 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sitegpt_access::{Denial, UnauthenticatedReason};
use sitegpt_api_types::{ErrorBody, Failure, FieldError, Meta};
use sitegpt_store::StoreError;

use crate::context::RequestContext;

/// Problems listed in an error's `details`; the rest are counted, so an
/// answer stays small whatever the request.
pub const MAX_DETAILS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An authorization step failed (401, 402, 403 or 404 by the step).
    #[error("{}", .0.message())]
    Denied(Denial),
    /// 400 `VALIDATION_FAILED` with one entry per problem.
    #[error("the request is not valid")]
    Validation(Vec<FieldError>),
    /// 403 `FORBIDDEN` with what was refused in `details`.
    #[error("{message}")]
    Forbidden { message: String, details: Vec<Value> },
    /// 409 `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// 404 for a path no route serves.
    #[error("No route matches this path.")]
    NoRoute,
    /// 405 for a known path with another method.
    #[error("This path does not accept that method; see the Allow header.")]
    MethodNotAllowed,
    /// 413: bodies are limited to 64 KiB.
    #[error("The request body is larger than 64 KiB.")]
    PayloadTooLarge,
    /// 408: the body did not arrive within the body timeout.
    #[error("The request body did not arrive in time; send it again, faster.")]
    RequestTimeout,
    /// 415: JSON bodies need `Content-Type: application/json`.
    #[error("Send the body as JSON with `Content-Type: application/json`.")]
    UnsupportedMediaType,
    /// 429 `RATE_LIMITED`, with `Retry-After`.
    #[error("Too many requests with unknown tokens from this address. Retry in {0} s.")]
    RateLimited(u64),
    /// 500. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(path: Vec<sitegpt_api_types::PathSegment>, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError { path, message: message.into() }])
    }

    pub fn not_found() -> ApiError {
        ApiError::Denied(Denial::NotFound)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden { message: message.into(), details: Vec::new() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Denied(denial) => denial_status(denial),
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Denied(denial) => denial.code(),
            ApiError::Validation(_) => "VALIDATION_FAILED",
            ApiError::Forbidden { .. } => "FORBIDDEN",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::NoRoute => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::RequestTimeout => "REQUEST_TIMEOUT",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    fn details(&self) -> Option<Vec<Value>> {
        match self {
            ApiError::Validation(errors) => {
                let mut details: Vec<Value> = errors.iter().take(MAX_DETAILS).map(|e| json!(e)).collect();
                if errors.len() > MAX_DETAILS {
                    details.push(json!({
                        "path": [],
                        "message": format!("{} more problems are not listed", errors.len() - MAX_DETAILS),
                    }));
                }
                Some(details)
            }
            ApiError::Forbidden { details, .. } if !details.is_empty() => Some(details.clone()),
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "Something went wrong on our side. Retry later; if it persists, \
                 report the request id."
                .into(),
            ApiError::Validation(errors) if errors.len() == 1 => format!("Invalid request: {}", errors[0].message),
            ApiError::Validation(errors) if errors.len() > MAX_DETAILS => {
                format!("Invalid request: {} problems; details lists the first {MAX_DETAILS}.", errors.len())
            }
            ApiError::Validation(errors) => format!("Invalid request: {} problems, see details.", errors.len()),
            other => other.to_string(),
        }
    }
}

fn denial_status(denial: &Denial) -> StatusCode {
    match denial {
        Denial::Unauthenticated(_) | Denial::TokenExpired | Denial::TokenRevoked => StatusCode::UNAUTHORIZED,
        Denial::EmailNotVerified
        | Denial::AddressNotAllowed(_)
        | Denial::InsufficientScope(_)
        | Denial::Forbidden(_) => StatusCode::FORBIDDEN,
        Denial::NotFound => StatusCode::NOT_FOUND,
        Denial::SubscriptionRequired => StatusCode::PAYMENT_REQUIRED,
    }
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        ApiError::Denied(denial)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Backend(message) => ApiError::Internal(message),
        }
    }
}

/// `WWW-Authenticate` for a denial, as RFC 6750 and RFC 9728 describe.
fn www_authenticate(denial: &Denial, resource_metadata: &str) -> Option<String> {
    let base = format!("Bearer realm=\"sitegpt\", resource_metadata=\"{resource_metadata}\"");
    match denial {
        Denial::Unauthenticated(UnauthenticatedReason::Missing) => Some(base),
        Denial::Unauthenticated(_) | Denial::TokenExpired | Denial::TokenRevoked => Some(format!(
            "{base}, error=\"invalid_token\", error_description=\"{}\"",
            denial.message().replace('"', "'")
        )),
        Denial::InsufficientScope(scope) => Some(format!("{base}, error=\"insufficient_scope\", scope=\"{scope}\"")),
        _ => None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let context = RequestContext::current();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(request_id = %context.request_id, %cause, "internal error");
        }
        let status = self.status();
        let body = Failure {
            ok: false,
            error: ErrorBody { code: self.code().into(), message: self.public_message(), details: self.details() },
            meta: Meta { request_id: context.request_id.to_string() },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::Denied(denial) = &self
            && let Some(value) =
                www_authenticate(denial, &context.resource_metadata).and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        if let ApiError::RateLimited(seconds) = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitegpt_access::Scope;

    #[test]
    fn statuses_follow_the_decision_table() {
        let cases = [
            (Denial::Unauthenticated(UnauthenticatedReason::Unknown), 401),
            (Denial::TokenExpired, 401),
            (Denial::TokenRevoked, 401),
            (Denial::EmailNotVerified, 403),
            (Denial::AddressNotAllowed(None), 403),
            (Denial::InsufficientScope(Scope::TokensWrite), 403),
            (Denial::NotFound, 404),
            (Denial::SubscriptionRequired, 402),
            (Denial::Forbidden("no".into()), 403),
        ];
        for (denial, status) in cases {
            assert_eq!(ApiError::Denied(denial.clone()).status().as_u16(), status, "{denial:?}");
        }
    }

    #[test]
    fn www_authenticate_variants() {
        let meta = "http://x/.well-known/oauth-protected-resource/api/v2";
        let missing = www_authenticate(&Denial::Unauthenticated(UnauthenticatedReason::Missing), meta).expect("401");
        assert!(missing.starts_with("Bearer "));
        assert!(!missing.contains("error="));
        assert!(missing.contains(&format!("resource_metadata=\"{meta}\"")));
        let expired = www_authenticate(&Denial::TokenExpired, meta).expect("401");
        assert!(expired.contains("error=\"invalid_token\""));
        let scope = www_authenticate(&Denial::InsufficientScope(Scope::TokensWrite), meta).expect("403");
        assert!(scope.contains("error=\"insufficient_scope\", scope=\"tokens:write\""));
        assert!(www_authenticate(&Denial::NotFound, meta).is_none());
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::Internal("disk I/O error at /var/lib/secret".into());
        assert!(!e.public_message().contains("/var/lib"));
    }
}
