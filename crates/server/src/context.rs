//! What every answer needs to know about the request it answers (its id,
//! and the resource metadata URL for `WWW-Authenticate`), kept for the
//! request's task by the request middleware.

use std::sync::Arc;

/// What error responses need to know about the request they answer.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: Arc<str>,
    pub resource_metadata: Arc<str>,
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
        CONTEXT
            .try_with(Clone::clone)
            .unwrap_or_else(|_| RequestContext { request_id: "unknown".into(), resource_metadata: "".into() })
    }
}

/// The request id of the request being served.
pub fn request_id() -> Arc<str> {
    RequestContext::current().request_id
}
