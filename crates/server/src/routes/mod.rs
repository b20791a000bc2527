//! Handlers, one module per resource. Each returns the API envelope through
//! [`ok`] or [`created`], or an [`ApiError`](crate::error::ApiError).

pub mod account;
pub mod audit;
pub mod chatbots;
pub mod conversations;
pub mod health;
pub mod items;
pub mod oauth;
pub mod paging;
pub mod secret_scanning;
pub mod settings;
pub mod team;
pub mod tokens;
pub mod v0;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::context::with_request_id;
use crate::error::ApiError;
use crate::request::RequestId;

/// `200 {"ok": true, "data": …, "meta": {"requestId": …}}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    envelope(StatusCode::OK, data)
}

/// The same with `201 Created`.
pub fn created<T: Serialize>(data: T) -> Response {
    envelope(StatusCode::CREATED, data)
}

/// The success envelope with any status.
pub fn envelope<T: Serialize>(status: StatusCode, data: T) -> Response {
    // One buffer, sized for most answers, moved into the body without a copy.
    let written = with_request_id(|request_id| {
        let body = Envelope { ok: true, data: &data, meta: MetaRef { request_id: request_id.as_str() } };
        let mut buf = Vec::with_capacity(ENVELOPE_CAPACITY);
        serde_json::to_writer(&mut buf, &body).map(|()| buf)
    });
    match written {
        Ok(buf) => json(status, buf),
        Err(e) => ApiError::Internal(format!("could not serialize the answer: {e}")).into_response(),
    }
}

/// A response of `status` with the JSON in `buf` as its body, moved, and
/// its one header set once.
fn json(status: StatusCode, buf: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(buf));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `200` with `data` already serialized: the envelope's text around it,
/// byte for byte what [`ok`] writes, without serializing `data` again.
pub fn ok_raw(data: &serde_json::value::RawValue) -> Response {
    json(StatusCode::OK, with_request_id(|request_id| raw_envelope(data.get(), request_id)))
}

/// The envelope around `data`, in a buffer of exactly its length, so the
/// body takes it over without another allocation. A request id's bytes
/// need no escaping in JSON ([`RequestId`]), so they are copied as they are.
fn raw_envelope(data: &str, request_id: &RequestId) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"ok":true,"data":"#;
    const META: &[u8] = br#","meta":{"requestId":""#;
    const TAIL: &[u8] = br#""}}"#;
    let id = request_id.as_str().as_bytes();
    let mut buf = Vec::with_capacity(HEAD.len() + data.len() + META.len() + id.len() + TAIL.len());
    buf.extend_from_slice(HEAD);
    buf.extend_from_slice(data.as_bytes());
    buf.extend_from_slice(META);
    buf.extend_from_slice(id);
    buf.extend_from_slice(TAIL);
    buf
}

/// The first allocation for an answer's JSON: the account, a token or a
/// short list fit; longer ones grow from it.
const ENVELOPE_CAPACITY: usize = 1024;

/// [`sitegpt_api_types::Success`] as written: the same JSON, with the
/// request id borrowed rather than copied.
#[derive(Serialize)]
struct Envelope<'a, T> {
    ok: bool,
    data: T,
    meta: MetaRef<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaRef<'a> {
    request_id: &'a str,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::to_bytes;
    use sitegpt_api_types::Success;

    use super::*;
    use crate::context::{RequestContext, request_id_byte};

    fn id(text: &'static str) -> RequestId {
        RequestId::from_client(&HeaderValue::from_static(text)).expect("an acceptable request id")
    }

    fn context(request_id: &'static str) -> RequestContext {
        RequestContext { request_id: id(request_id), resource_metadata: Arc::from(""), client: None, user_agent: None }
    }

    #[tokio::test]
    async fn the_envelope_is_what_clients_read_as_success() {
        let context = context("req_0123");
        let data = serde_json::json!({"name": "a \"quoted\" name", "items": (0..200).collect::<Vec<_>>()});
        let response = context.scope(async { created(&data) }).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let parsed: Success<serde_json::Value> = serde_json::from_slice(&body).expect("a success envelope");
        assert!(parsed.ok);
        assert_eq!(parsed.data, data, "longer than the first buffer, and escaped");
        assert_eq!(parsed.meta.request_id, "req_0123");
    }

    #[tokio::test]
    async fn raw_data_gets_the_same_envelope_byte_for_byte() {
        let context = context("req_AZaz09-_.:");
        let data = serde_json::json!({"user": {"id": "usr_1", "name": "Ünïcode \u{1F600}"}, "scopes": ["a", "b"]});
        let raw = serde_json::value::to_raw_value(&data).expect("raw");
        let (slow, fast) = context.scope(async { (ok(&data), ok_raw(&raw)) }).await;
        assert_eq!(fast.status(), StatusCode::OK);
        assert_eq!(fast.headers()[header::CONTENT_TYPE], "application/json");
        let slow = to_bytes(slow.into_body(), usize::MAX).await.expect("body");
        let fast = to_bytes(fast.into_body(), usize::MAX).await.expect("body");
        assert_eq!(fast, slow);
        let parsed: Success<serde_json::Value> = serde_json::from_slice(&fast).expect("a success envelope");
        assert_eq!((parsed.data, parsed.meta.request_id.as_str()), (data, "req_AZaz09-_.:"));
    }

    #[test]
    fn a_raw_envelope_fills_its_buffer_exactly() {
        let buf = raw_envelope(r#"{"a":1}"#, &id("req_0123abcd"));
        assert_eq!(buf, br#"{"ok":true,"data":{"a":1},"meta":{"requestId":"req_0123abcd"}}"#);
        assert_eq!(buf.len(), buf.capacity());
        // Every character a request id may hold, written as JSON would.
        let all = "AZaz09-_.:req";
        let buf = raw_envelope("1", &id(all));
        let parsed: Success<u8> = serde_json::from_slice(&buf).expect("a success envelope");
        assert_eq!(parsed.meta.request_id, all);
        assert_eq!(
            buf,
            serde_json::to_vec(&Envelope { ok: true, data: 1, meta: MetaRef { request_id: all } }).expect("json")
        );
    }

    #[test]
    fn no_byte_a_request_id_may_hold_is_escaped_in_json() {
        let allowed: Vec<u8> = (0..=u8::MAX).filter(|&b| request_id_byte(b)).collect();
        assert_eq!(allowed.len(), 26 + 26 + 10 + 4);
        for b in allowed {
            let text = char::from(b).to_string();
            assert_eq!(serde_json::to_string(&text).expect("json"), format!("\"{text}\""));
        }
    }

    #[tokio::test]
    async fn data_that_cannot_be_written_is_an_internal_error_not_a_panic() {
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        assert_eq!(ok(Broken).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
