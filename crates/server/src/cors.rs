//! CORS for the endpoints browser-based clients call with bearer tokens and
//! form bodies, never cookies: discovery, registration, token, revocation and
//! MCP. Any origin may ask, since no ambient credential rides along (the MCP
//! endpoint's guard then refuses an `Origin` other than the public URL's).
//!
//! A middleware with its headers as constants: the same answers as
//! `tower_http`'s `CorsLayer` with any origin, without cloning the layer's
//! header lists for every request (a twentieth of a token poll's time).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The methods a preflight answer allows.
#[derive(Debug, Clone, Copy)]
pub struct Methods(&'static str);

pub const GET_POST: Methods = Methods("GET,POST");
pub const GET_POST_DELETE: Methods = Methods("GET,POST,DELETE");

const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");
const ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("authorization,content-type,mcp-protocol-version,mcp-session-id");
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static("www-authenticate,mcp-session-id,mcp-protocol-version");
const MAX_AGE: HeaderValue = HeaderValue::from_static("3600");
const VARY: HeaderValue =
    HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers");

/// CORS for bearer-token endpoints: use with
/// `middleware::from_fn_with_state(cors::GET_POST, cors::bearer)`. A
/// preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
/// here; every other request gets the origin and exposed headers added.
pub async fn bearer(State(methods): State<Methods>, request: Request, next: Next) -> Response {
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight { StatusCode::OK.into_response() } else { next.run(request).await };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    if preflight {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods.0));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    } else {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    }
    headers.append(header::VARY, VARY);
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        let teapot = || async { (StatusCode::IM_A_TEAPOT, [(header::VARY, "accept")]) };
        Router::new()
            .route("/x", post(teapot).options(teapot))
            .layer(axum::middleware::from_fn_with_state(GET_POST, bearer))
    }

    fn values(response: &Response, name: header::HeaderName) -> Vec<&str> {
        response.headers().get_all(name).iter().map(|v| v.to_str().expect("ascii")).collect()
    }

    #[tokio::test]
    async fn a_preflight_is_answered_here_with_what_it_may_send() {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/x")
            .header(header::ORIGIN, "http://localhost:6274")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .expect("request");
        let response = app().oneshot(request).await.expect("answer");
        assert_eq!(response.status(), StatusCode::OK, "not the handler's");
        assert_eq!(values(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN), ["*"]);
        assert_eq!(values(&response, header::ACCESS_CONTROL_ALLOW_METHODS), ["GET,POST"]);
        assert_eq!(
            values(&response, header::ACCESS_CONTROL_ALLOW_HEADERS),
            ["authorization,content-type,mcp-protocol-version,mcp-session-id"]
        );
        assert_eq!(values(&response, header::ACCESS_CONTROL_MAX_AGE), ["3600"]);
        assert_eq!(values(&response, header::VARY), [VARY.to_str().expect("ascii")]);
        assert!(response.headers().get(header::ACCESS_CONTROL_EXPOSE_HEADERS).is_none());
    }

    #[tokio::test]
    async fn other_requests_reach_the_handler_and_gain_the_origin_and_exposed_headers() {
        for method in [Method::POST, Method::OPTIONS] {
            let request = Request::builder().method(method.clone()).uri("/x").body(Body::empty()).expect("request");
            let response = app().oneshot(request).await.expect("answer");
            assert_eq!(response.status(), StatusCode::IM_A_TEAPOT, "{method}");
            assert_eq!(values(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN), ["*"]);
            assert_eq!(
                values(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS),
                ["www-authenticate,mcp-session-id,mcp-protocol-version"]
            );
            assert_eq!(values(&response, header::VARY), ["accept", VARY.to_str().expect("ascii")], "appended");
            assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none());
        }
    }
}
