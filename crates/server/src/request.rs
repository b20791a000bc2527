//! Per-request plumbing: the request id (echoed when the client sent a sane
//! one), the access log, and bodies and queries parsed only when the handler
//! asks, so that authorization answers before validation does.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::DeserializeOwned;
use sitegpt_api_types::{FieldError, PathSegment};

pub use crate::context::{RequestContext, RequestId, request_id};
use crate::error::ApiError;
use crate::state::AppState;

/// `X-Request-Id`, parsed once (a name given as `&str` is parsed at each use).
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Middleware: assigns the request id, makes it and the resource metadata
/// URL available to error rendering, sets `X-Request-Id`, and writes one
/// access-log line. Logs name the route template, never the raw path or
/// headers, so no credential can reach them.
pub async fn context(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Behind trusted proxies the client is named by their headers: read once, here.
    let request = if state.trusted_proxies.0.is_empty() {
        request
    } else {
        let (mut parts, body) = request.into_parts();
        crate::conn::resolve_client(&mut parts.extensions, &parts.headers, &state.trusted_proxies.0);
        Request::from_parts(parts, body)
    };
    let request_id = match request.headers().get(&REQUEST_ID_HEADER).and_then(RequestId::from_client) {
        Some(id) => id,
        None => RequestId::generate(),
    };
    let method = request.method().clone();
    // Answers to a credential are for that client alone: no shared cache
    // may keep them (handlers that return a secret set `no-store`).
    let credentialed = request.headers().contains_key(header::AUTHORIZATION)
        || request
            .headers()
            .get(header::COOKIE)
            .is_some_and(|c| c.as_bytes().windows(15).any(|w| w == b"sitegpt_session"));
    // The route's template (`Router::layer` runs after routing); kept as the
    // router's own shared string, not copied.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let context = RequestContext {
        request_id: request_id.clone(),
        resource_metadata: Arc::clone(&state.resource_metadata),
        client: crate::conn::client_ip(request.extensions()),
        user_agent: request.headers().get(header::USER_AGENT).cloned(),
    };
    let mut response = context.scope(next.run(request)).await;
    if let Some(value) = request_id.header_value() {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    if credentialed {
        response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("private"));
    }
    tracing::info!(
        target: "sitegpt::access",
        request_id = %request_id,
        method = %method,
        route = route.as_ref().map_or("(unmatched)", MatchedPath::as_str),
        status = response.status().as_u16(),
        elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// A JSON body, read and parsed by the extractor but reported only when the
/// handler calls [`JsonBody::parse`] — after authorization.
#[derive(Debug)]
pub struct JsonBody<T>(Result<T, ApiError>);

impl<T> JsonBody<T> {
    pub fn parse(self) -> Result<T, ApiError> {
        self.0
    }
}

/// The media type of a request's body (`Content-Type` without its
/// parameters, lower-cased), if it names one.
pub fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    essence(headers.get(header::CONTENT_TYPE))
}

fn essence(content_type: Option<&HeaderValue>) -> Option<String> {
    let value = content_type?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// `application/json` or a `+json` type of it.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    essence(content_type)
        .is_some_and(|mime| mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")))
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Ok(JsonBody(Err(ApiError::UnsupportedMediaType)));
        }
        let bytes = match read_body(request, state).await {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge) => return Ok(JsonBody(Err(ApiError::PayloadTooLarge))),
            Err(BodyError::TimedOut) => return Ok(JsonBody(Err(ApiError::RequestTimeout))),
            Err(BodyError::Unreadable(why)) => {
                return Ok(JsonBody(Err(ApiError::validation(vec![], format!("could not read the body: {why}")))));
            }
        };
        Ok(JsonBody(parse_json(&bytes)))
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the body limit (64 KiB).
    TooLarge,
    /// Not all of it arrived within the body timeout.
    TimedOut,
    /// The connection failed mid-body, or the body was malformed.
    Unreadable(String),
}

/// Reads the whole body of `request`, telling the ways it can fail apart.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<axum::body::Bytes, BodyError> {
    match axum::body::Bytes::from_request(request, state).await {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(BodyError::TooLarge),
        Err(rejection) if crate::serve::is_body_timeout(&rejection) => Err(BodyError::TimedOut),
        Err(rejection) => Err(BodyError::Unreadable(rejection.to_string())),
    }
}

/// The message for text holding U+0000, which no store keeps.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Parses JSON, naming the path of the first problem. Strings may not hold
/// U+0000 (PostgreSQL cannot store it; no client means to send it).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_nul_escape(bytes)
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_path(&value)
    {
        return Err(ApiError::Validation(vec![FieldError { path, message: NUL_MESSAGE.into() }]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let mut path = serde_path(e.path());
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            // Broken JSON has no field to point at, only a position.
            path.clear();
            format!("the body is not valid JSON ({inner})")
        } else {
            let message = strip_position(&inner.to_string());
            // serde reports a missing field at the object that lacks it;
            // the path names the field itself, like every other detail.
            if let Some(field) = missing_field(&message) {
                path.push(PathSegment::Key(field.to_owned()));
            }
            message
        };
        ApiError::Validation(vec![FieldError { path, message }])
    })?;
    de.end().map_err(|e| ApiError::validation(vec![], format!("unexpected data after the JSON value ({e})")))?;
    Ok(value)
}

/// Whether the JSON text has a `\u0000` escape (a raw NUL byte is not JSON).
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Where the first string (or key) holding U+0000 is.
fn nul_path(value: &serde_json::Value) -> Option<Vec<PathSegment>> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(Vec::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            nul_path(item).map(|mut path| {
                path.insert(0, PathSegment::Index(i));
                path
            })
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let inner = if key.contains('\0') { Some(Vec::new()) } else { nul_path(item) };
            inner.map(|mut path| {
                path.insert(0, PathSegment::Key(key.clone()));
                path
            })
        }),
        _ => None,
    }
}

fn serde_path(path: &serde_path_to_error::Path) -> Vec<PathSegment> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(PathSegment::Index(*index)),
            Segment::Map { key } => Some(PathSegment::Key(key.clone())),
            Segment::Enum { variant } => Some(PathSegment::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// The field named by serde's "missing field `name`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// serde_json appends " at line L column C"; the path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string, parsed when the handler asks (after authorization).
#[derive(Debug)]
pub struct QueryParams<T>(Result<T, ApiError>);

impl<T> QueryParams<T> {
    pub fn parse(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            let path = vec![PathSegment::Key(name.replace('\0', ""))];
            return Ok(QueryParams(Err(ApiError::Validation(vec![FieldError { path, message: NUL_MESSAGE.into() }]))));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let parsed = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = serde_path(e.path());
            ApiError::Validation(vec![FieldError { path, message: format!("query parameter: {}", e.into_inner()) }])
        });
        Ok(QueryParams(parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_in_json_strings_are_refused_with_their_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let refused = |json: &str| match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::Validation(errors)) if errors[0].message == NUL_MESSAGE => Some(errors[0].path.clone()),
            _ => None,
        };
        assert_eq!(refused(r#"{"name": "a\u0000b", "tags": []}"#), Some(vec![PathSegment::Key("name".into())]));
        assert_eq!(
            refused(r#"{"name": "a", "tags": ["x", "\u0000"]}"#),
            Some(vec![PathSegment::Key("tags".into()), PathSegment::Index(1)])
        );
        // An escaped backslash followed by `u0000` is text, not NUL.
        assert!(parse_json::<Body>(br#"{"name": "a\\u0000", "tags": []}"#).is_ok());
        assert!(has_nul_escape(br#""\u0000""#) && !has_nul_escape(br#""\\u0000""#) && !has_nul_escape(b"\\"));
    }

    #[test]
    fn request_ids_from_clients_are_checked() {
        let from = |value: &[u8]| {
            RequestId::from_client(&HeaderValue::from_bytes(value).expect("a header value")).map(|id| id.to_string())
        };
        assert_eq!(from(b"abc-123_x.y:z").as_deref(), Some("abc-123_x.y:z"));
        assert_eq!(from(&[b'a'; 128]).map(|id| id.len()), Some(128));
        // Bytes a header value may hold but a request id may not.
        for refused in [&b"has space"[..], b"", &[b'a'; 129], b"a\"b", b"a\\b", b"caf\xc3\xa9", b"a\tb", b"a/b"] {
            assert_eq!(from(refused), None, "{refused:?}");
        }
        let id = RequestId::generate();
        let text = id.as_str();
        assert!(text.starts_with("req_") && text.len() == 28, "{id}");
        assert!(text[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
        assert_ne!(RequestId::generate(), id, "fresh each time");
        // And one the server would accept back from a client, as the same header.
        let header = id.header_value().expect("a header value");
        assert_eq!((header.to_str().ok(), RequestId::from_client(&header)), (Some(text), Some(id.clone())));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(Some(&HeaderValue::from_static("application/json"))));
        assert!(is_json(Some(&HeaderValue::from_static("Application/JSON; charset=utf-8"))));
        assert!(is_json(Some(&HeaderValue::from_static("application/merge-patch+json"))));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
        assert!(!is_json(None));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        items: Vec<u8>,
    }

    #[test]
    fn json_errors_name_their_path() {
        let Err(ApiError::Validation(errors)) = parse_json::<Sample>(br#"{"name":"x","items":[1,"two"]}"#) else {
            panic!("expected a validation error")
        };
        assert_eq!(errors[0].path, vec![PathSegment::Key("items".into()), PathSegment::Index(1)]);
        assert!(!errors[0].message.contains("line"));
        assert!(matches!(parse_json::<Sample>(b"{nope"), Err(ApiError::Validation(_))));
        let Err(ApiError::Validation(errors)) = parse_json::<Sample>(br#"{"items":[]}"#) else { panic!("missing") };
        assert_eq!(errors[0].path, vec![PathSegment::Key("name".into())], "a missing field is named");
        let Err(ApiError::Validation(errors)) = parse_json::<Sample>(br#"{"name": "#) else { panic!("cut off") };
        assert_eq!(errors[0].path, Vec::<PathSegment>::new(), "broken JSON has no field path");
        assert!(errors[0].message.contains("not valid JSON"));
        let Err(ApiError::Validation(errors)) = parse_json::<Sample>(br#"{"name": "x", "items": [1,"#) else {
            panic!("cut off inside")
        };
        assert_eq!(errors[0].path, Vec::<PathSegment>::new());
        assert!(matches!(parse_json::<Sample>(br#"{"name":"x","items":[],"extra":1}"#), Err(ApiError::Validation(_))));
        assert!(matches!(parse_json::<Sample>(br#"{"name":"x","items":[]} {}"#), Err(ApiError::Validation(_))));
    }
}
