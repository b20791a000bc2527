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

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sitegpt_api_types::{Meta, Success};

use crate::request::request_id;

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
    let body = Success { ok: true, data, meta: Meta { request_id: request_id().to_string() } };
    (status, Json(body)).into_response()
}
