//! `GET /healthz` (the process is up) and `GET /readyz` (and its store answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> Response {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})).into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "store": state.store.engine()})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "store is not answering");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "store": state.store.engine()})))
                .into_response()
        }
    }
}
