//! OAuth 2.0 endpoints: discovery (RFC 8414, RFC 9728), the device
//! authorization grant (RFC 8628), revocation (RFC 7009) and introspection
//! (RFC 7662). These speak OAuth's own JSON (`{"error", "error_description"}`),
//! not the API v2 envelope, and take form-encoded bodies.

pub mod authorization;
pub mod device;
pub mod grant;
pub mod introspect;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod token;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sitegpt_api_types::OAuthErrorBody;

/// The built-in public client of the first-party CLI.
pub const CLI_CLIENT_ID: &str = "sitegpt-cli";

/// A public client that may start device authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicClient {
    pub id: &'static str,
    /// Shown on the approval page.
    pub name: &'static str,
}

pub const PUBLIC_CLIENTS: &[PublicClient] = &[PublicClient { id: CLI_CLIENT_ID, name: "SiteGPT CLI" }];

pub fn public_client(id: &str) -> Option<PublicClient> {
    PUBLIC_CLIENTS.iter().copied().find(|c| c.id == id)
}

/// An OAuth error response.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `slow_down` tells the client its new interval.
    pub interval: Option<i64>,
    /// Seconds for `Retry-After` on a 429.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into(), interval: None, retry_after: None }
    }

    /// 429: this address sent too many requests of this kind.
    pub fn rate_limited(seconds: u64, what: &str) -> OAuthError {
        let seconds = seconds.max(1);
        OAuthError {
            retry_after: Some(seconds),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                format!("too many {what} from this address; retry in {seconds} s"),
            )
        }
    }

    /// 408: the body did not arrive within the body timeout.
    pub fn timed_out() -> OAuthError {
        OAuthError::new(StatusCode::REQUEST_TIMEOUT, "invalid_request", "the request body did not arrive in time")
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn server_error(cause: impl std::fmt::Display) -> OAuthError {
        tracing::error!(%cause, "internal error in an OAuth endpoint");
        OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong; retry later.")
    }
}

impl From<sitegpt_store::StoreError> for OAuthError {
    fn from(e: sitegpt_store::StoreError) -> Self {
        OAuthError::server_error(e)
    }
}

impl From<crate::error::ApiError> for OAuthError {
    fn from(e: crate::error::ApiError) -> Self {
        match e {
            crate::error::ApiError::RateLimited(seconds) => OAuthError::rate_limited(seconds, "unknown tokens"),
            other => OAuthError::server_error(other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error.to_owned(),
            error_description: Some(self.description),
            interval: self.interval,
        };
        let mut response = no_store((self.status, Json(body)).into_response());
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// RFC 6749 §5.1: token responses must not be cached.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A `200` JSON answer that must not be cached.
pub fn json_no_store<T: Serialize>(body: T) -> Response {
    no_store(Json(body).into_response())
}

/// An `application/x-www-form-urlencoded` body, as ordered pairs.
#[derive(Debug)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// A parameter that may appear at most once (RFC 6749 §3.1).
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("`{name}` must not be repeated")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.single(name)?.ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is required")))
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form =
            crate::request::media_type(request.headers()).as_deref() == Some("application/x-www-form-urlencoded");
        if !is_form {
            return Err(OAuthError::invalid_request("send parameters as application/x-www-form-urlencoded"));
        }
        let bytes = read_body(request, state).await?;
        Ok(Form(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

/// The request body, with OAuth's errors for one that does not arrive whole.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<axum::body::Bytes, OAuthError> {
    crate::request::read_body(request, state).await.map_err(|e| match e {
        crate::request::BodyError::TimedOut => OAuthError::timed_out(),
        crate::request::BodyError::TooLarge => OAuthError::invalid_request("the body is larger than 64 KiB"),
        crate::request::BodyError::Unreadable(why) => {
            OAuthError::invalid_request(format!("could not read the body: {why}"))
        }
    })
}

/// Checks `client_id` against the public clients.
pub fn require_client(form: &Form) -> Result<PublicClient, OAuthError> {
    let id = form.single("client_id")?.ok_or_else(|| OAuthError::invalid_client("`client_id` is required"))?;
    public_client(id).ok_or_else(|| OAuthError::invalid_client(format!("unknown client `{}`", truncate(id, 64))))
}

/// Caps untrusted text echoed in messages.
pub fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
