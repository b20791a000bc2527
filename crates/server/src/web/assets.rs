//! Static assets, compiled into the binary and served by the server: no CDN.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("app.css");
const JS: &str = include_str!("app.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

pub async fn favicon() -> Response {
    asset("image/svg+xml", super::layout::FAVICON)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}
