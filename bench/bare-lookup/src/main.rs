//! `bare-lookup PORT TOKENS [SHORT LONG]`: serves `GET /account` on
//! 127.0.0.1:PORT for `TOKENS` random bearer tokens (kept as SHA-256
//! digests in a hash map), and prints one of them. The answer is a small
//! JSON document, as an authenticated API's would be.
//!
//! Beside it, a control for the length of an answer: `GET /short` and
//! `GET /long` answer ready-made JSON bodies of `SHORT` and `LONG` bytes
//! (the long one also with `Cache-Control: private`), with no other work,
//! so the ratio of their rates is what the longer answer alone costs on
//! this machine: the kernel's copy of each byte into the socket, and the
//! client's reading of it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngCore;
use sha2::{Digest, Sha256};

type Tokens = Arc<HashMap<[u8; 32], String>>;

async fn account(State(tokens): State<Tokens>, headers: HeaderMap) -> Response {
    let presented =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(presented) = presented else { return StatusCode::UNAUTHORIZED.into_response() };
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    match tokens.get(&digest) {
        Some(user) => axum::Json(serde_json::json!({"ok": true, "data": {"user": {"id": user}}})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// A JSON document of exactly `len` bytes (at least 10): `{"pad":"xx…"}`.
fn document(len: usize) -> Bytes {
    let pad = len.checked_sub(br#"{"pad":""}"#.len()).expect("a length of at least 10 bytes");
    Bytes::from(format!(r#"{{"pad":"{}"}}"#, "x".repeat(pad)))
}

fn ready_made(body: Bytes, private: bool) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if private {
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private"));
    }
    response
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("usage: bare-lookup PORT TOKENS [SHORT LONG]");
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let short = document(args.next().and_then(|n| n.parse().ok()).unwrap_or(33));
    let long = document(args.next().and_then(|n| n.parse().ok()).unwrap_or(400));
    let mut tokens = HashMap::with_capacity(count);
    let mut one = String::new();
    for i in 0..count {
        let mut secret = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut secret);
        let token = format!("bare_{}", hex::encode(secret));
        tokens.insert(Sha256::digest(token.as_bytes()).into(), format!("usr_{i}"));
        one = token;
    }
    let app = axum::Router::new()
        .route("/account", get(account))
        .route("/short", get(move || std::future::ready(ready_made(short.clone(), false))))
        .route("/long", get(move || std::future::ready(ready_made(long.clone(), true))))
        .with_state(Arc::new(tokens));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    println!("{one}");
    axum::serve(listener, app).await.expect("serve");
}
