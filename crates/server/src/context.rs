//! What every answer needs to know about the request it answers (its id,
//! the resource metadata URL for `WWW-Authenticate`, and who sent it for
//! the audit log), kept for the request's task by the request middleware.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderValue;
use rand::Rng;

/// A request's id: a fresh one, or the client's `X-Request-Id` when it is
/// 1–128 of the bytes [`request_id_byte`] allows. Nothing else can become
/// one, so an id never needs escaping in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

/// What a request id is made of: none of it needs escaping in JSON.
pub fn request_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
}

impl RequestId {
    /// A fresh id: 96 random bits from the thread's CSPRNG, in hex. Request
    /// ids are not secrets; they only need to be unique.
    pub fn generate() -> RequestId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let value: u128 = rand::thread_rng().r#gen::<u128>() >> 32;
        // `req_` and 24 hex digits, written in place: one allocation, the Arc's.
        let mut id = *b"req_000000000000000000000000";
        for (i, digit) in id[4..].iter_mut().enumerate() {
            *digit = HEX[((value >> (4 * (23 - i))) & 0xf) as usize];
        }
        RequestId(Arc::from(std::str::from_utf8(&id).unwrap_or("req_unknown")))
    }

    /// The id a client sent, if it is one the server accepts.
    pub fn from_client(value: &HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        if !(1..=128).contains(&bytes.len()) || !bytes.iter().all(|&b| request_id_byte(b)) {
            return None;
        }
        std::str::from_utf8(bytes).ok().map(|id| RequestId(Arc::from(id)))
    }

    /// Outside a request.
    fn unknown() -> RequestId {
        RequestId(Arc::from("unknown"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As the `X-Request-Id` header.
    pub fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.0).ok()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What error responses and audit events need to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
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
            request_id: RequestId::unknown(),
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
pub fn request_id() -> RequestId {
    with_request_id(RequestId::clone)
}

/// `f` of the request id of the request being served, borrowed (no
/// reference count taken).
pub fn with_request_id<T>(f: impl Fn(&RequestId) -> T) -> T {
    CONTEXT.try_with(|context| f(&context.request_id)).unwrap_or_else(|_| f(&RequestId::unknown()))
}

/// The longest `User-Agent` kept.
const USER_AGENT_MAX: usize = 200;

/// A `User-Agent` as stored: printable, at most [`USER_AGENT_MAX`] characters.
pub fn readable_user_agent(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(USER_AGENT_MAX).collect()
}
