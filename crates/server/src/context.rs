//! What every answer needs to know about the request it answers (its id,
//! the resource metadata URL for `WWW-Authenticate`, and who sent it for
//! the audit log), kept for the request's task by the request middleware.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderValue;

/// What error responses and audit events need to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: Arc<str>,
    pub resource_metadata: Arc<str>,
    /// The client's address (behind trusted proxies, the one they name).
    pub client: Option<IpAddr>,
    /// The raw `User-Agent`, read only when an event is written.
    pub user_agent: Option<HeaderValue>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

impl RequestContext {
    /// Runs `future` as the request this context describes.
    pub async fn scope<F: std::future::Future>(self, future: F) -> F::Output {
        CONTEXT.scope(self, future).await
    }

    /// The context of the request being served (a placeholder outside one).
    pub fn current() -> RequestContext {
        CONTEXT.try_with(Clone::clone).unwrap_or_else(|_| RequestContext {
            request_id: "unknown".into(),
            resource_metadata: "".into(),
            client: None,
            user_agent: None,
        })
    }

    /// The `User-Agent` as stored: see [`readable_user_agent`].
    pub fn readable_user_agent(&self) -> Option<String> {
        self.user_agent.as_ref().and_then(|v| v.to_str().ok()).map(readable_user_agent)
    }
}

/// The request id of the request being served.
pub fn request_id() -> Arc<str> {
    CONTEXT.try_with(|context| Arc::clone(&context.request_id)).unwrap_or_else(|_| "unknown".into())
}

/// The longest `User-Agent` kept.
const USER_AGENT_MAX: usize = 200;

/// A `User-Agent` as stored: printable, at most [`USER_AGENT_MAX`] characters.
pub fn readable_user_agent(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(USER_AGENT_MAX).collect()
}
