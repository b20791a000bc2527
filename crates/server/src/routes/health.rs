//! `GET /healthz` (the process is up) and `GET /readyz` (and its store
//! answers). On PostgreSQL, `/readyz` also says whether the node hears other
//! nodes' authorization changes (`notifications`: `listening`, or
//! `reconnecting` while its cache lives at most 250 ms): still ready, but
//! worth an alert if it lasts.

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
        Ok(()) => {
            let mut body = json!({"status": "ok", "store": state.store.engine()});
            if let Some(listening) = state.store.hears_other_nodes() {
                body["notifications"] = json!(if listening { "listening" } else { "reconnecting" });
            }
            Json(body).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "store is not answering");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "store": state.store.engine()})))
                .into_response()
        }
    }
}
