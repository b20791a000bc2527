//! v0's envelope: `{success, message, data}`, and errors with their codes.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::operation::Operation;

/// One problem with the request, in the envelope's `details`.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub(crate) path: Vec<Value>,
    pub(crate) message: String,
}

pub(crate) fn detail(path: &[&str], message: impl Into<String>) -> Detail {
    Detail { path: path.iter().map(|p| Value::String((*p).to_owned())).collect(), message: message.into() }
}

/// A v0 error answer.
#[derive(Debug)]
pub(crate) struct V0Error {
    pub(crate) status: StatusCode,
    /// The envelope's overall `message`.
    pub(crate) failure: &'static str,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) details: Option<Vec<Detail>>,
    pub(crate) allow: Option<Method>,
    pub(crate) retry_after: Option<u64>,
}

impl V0Error {
    pub(crate) fn new(op: &Operation, status: StatusCode, code: &str, message: impl Into<String>) -> V0Error {
        V0Error {
            status,
            failure: op.failure(),
            code: code.to_owned(),
            message: message.into(),
            details: None,
            allow: None,
            retry_after: None,
        }
    }

    pub(crate) fn invalid(op: &Operation, details: Vec<Detail>) -> V0Error {
        V0Error {
            details: Some(details),
            ..V0Error::new(op, StatusCode::BAD_REQUEST, "REQUEST_VALIDATION_FAILED", "Request body is not valid")
        }
    }

    pub(crate) fn unauthenticated(op: &Operation) -> V0Error {
        V0Error::new(
            op,
            StatusCode::UNAUTHORIZED,
            "API_KEY_NOT_VALID",
            "Authorization header does not contain valid API key",
        )
    }

    pub(crate) fn forbidden(op: &Operation) -> V0Error {
        V0Error::new(op, StatusCode::FORBIDDEN, &format!("{}_FORBIDDEN", op.code()), op.forbidden())
    }

    pub(crate) fn user_not_found(op: &Operation) -> V0Error {
        V0Error::new(op, StatusCode::NOT_FOUND, &format!("{}_USER_NOT_FOUND", op.code()), "Whitelabel user not found")
    }

    /// 500: the cause is logged, never sent.
    pub(crate) fn failed(op: &Operation, cause: &dyn std::fmt::Display) -> V0Error {
        tracing::error!(%cause, operation = op.code(), "v0 operation failed");
        V0Error::new(
            op,
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{}_FAILED", op.code()),
            "Some technical error has occurred !!",
        )
    }

    pub(crate) fn into_response(self) -> Response {
        let body = json!({
            "success": false,
            "message": self.failure,
            "data": null,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(allow) = self.allow
            && let Ok(value) = HeaderValue::from_str(allow.as_str())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub(crate) fn success(status: StatusCode, message: &str, data: Value) -> Response {
    (status, axum::Json(json!({"success": true, "message": message, "data": data}))).into_response()
}
