//! Error answers: `{"message": …}` with the status that says what went
//! wrong, and for validation also `errors: {field: [messages]}`, as the
//! documentation shows. 401s carry `WWW-Authenticate: Bearer`.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sitegpt_access::sitepulse::{PulseDenial, PulseResource};
use sitegpt_store::StoreError;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    Denied(PulseDenial),
    /// 401: an OAuth token issued for the other resource (RFC 8707); the
    /// resource asked of is named.
    OtherResource(PulseResource),
    /// 422: fields and what is wrong with each.
    Invalid(BTreeMap<&'static str, Vec<String>>),
    /// 400: the body is not JSON of the expected shape.
    BadBody(String),
    /// 409: the state of a record forbids the change.
    Conflict(String),
    NoRoute,
    MethodNotAllowed,
    /// 500; the text is logged, never shown.
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a BTreeMap<&'static str, Vec<String>>>,
}

impl ApiError {
    /// One field's one message.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(BTreeMap::from([(field, vec![message.into()])]))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Denied(denial) => match denial {
                PulseDenial::Unauthenticated(_)
                | PulseDenial::TokenRevoked
                | PulseDenial::TokenExpired
                | PulseDenial::EmailNotVerified => StatusCode::UNAUTHORIZED,
                PulseDenial::InsufficientScope(_) | PulseDenial::Forbidden(_) => StatusCode::FORBIDDEN,
                PulseDenial::NotFound => StatusCode::NOT_FOUND,
                PulseDenial::SubscriptionRequired => StatusCode::PAYMENT_REQUIRED,
            },
            ApiError::OtherResource(_) => StatusCode::UNAUTHORIZED,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<PulseDenial> for ApiError {
    fn from(denial: PulseDenial) -> ApiError {
        ApiError::Denied(denial)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::Denied(PulseDenial::NotFound),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            StoreError::Backend(why) => ApiError::Internal(why),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, errors) = match &self {
            ApiError::Denied(denial) => (denial.message(), None),
            ApiError::Invalid(errors) => {
                let first = errors.values().flatten().next().cloned().unwrap_or_default();
                let more = errors.values().map(Vec::len).sum::<usize>().saturating_sub(1);
                let message = match more {
                    0 => first,
                    1 => format!("{first} (and 1 more error)"),
                    n => format!("{first} (and {n} more errors)"),
                };
                (message, Some(errors))
            }
            ApiError::OtherResource(here) => (
                format!(
                    "This token was issued for another resource; it cannot be used at {here}. Authorize the client \
                     for this resource."
                ),
                None,
            ),
            ApiError::BadBody(why) => (why.clone(), None),
            ApiError::Conflict(why) => (capitalized(why), None),
            ApiError::NoRoute => ("No such route: see /api/v1/openapi.json.".into(), None),
            ApiError::MethodNotAllowed => ("The route does not take this method.".into(), None),
            ApiError::Internal(why) => {
                tracing::error!(error = %why, "request failed");
                ("Server error. Retry later.".into(), None)
            }
        };
        let mut response = (status, Json(Body { message: &message, errors })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self {
                ApiError::OtherResource(_) => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// "the check is running" → "The check is running."
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
