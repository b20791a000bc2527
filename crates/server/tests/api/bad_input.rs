//! Bad input of every kind gets a clear JSON error with the right status,
//! never a 500, and leaves nothing half-written.

use axum::body::Body;
use axum::http::{Method, Request};
use rand::{Rng, SeedableRng};
use serde_json::json;
use sitegpt_access::Scope;

use crate::helpers::{TestApp, TestUser};

async fn setup() -> (TestApp, TestUser, String) {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead, Scope::TokensRead, Scope::TokensWrite]).await;
    (app, owner, token)
}

fn raw_post(token: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post("/api/v2/tokens").header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).expect("request")
}

#[tokio::test]
async fn malformed_bodies_are_400_with_paths() {
    let (app, owner, token) = setup().await;
    let before = app.count_tokens(&owner.account_id).await;
    let cases: &[(&str, Option<serde_json::Value>)] = &[
        ("{not json", Some(json!([]))),
        ("", Some(json!([]))),
        ("[]", Some(json!([]))),
        (r#"{"name":"n"}"#, Some(json!(["scopes"]))),
        (r#"{"scopes":["account:read"]}"#, Some(json!(["name"]))),
        (r#"{"name": "#, Some(json!([]))),
        (r#"{"name":"n","scopes":["account:read""#, Some(json!([]))),
        (r#"{"name":"n","scopes":["account:read"],"admin":true}"#, None),
        (r#"{"name":5,"scopes":["account:read"]}"#, Some(json!(["name"]))),
        (r#"{"name":"n","scopes":"account:read"}"#, Some(json!(["scopes"]))),
        (r#"{"name":"n","scopes":["account:read"],"expiresInDays":"90"}"#, Some(json!(["expiresInDays"]))),
        (r#"{"name":"n","scopes":["account:read"],"expiresInDays":1e99}"#, Some(json!(["expiresInDays"]))),
        (r#"{"name":"n","scopes":["account:read"],"expiresAt":"tomorrow"}"#, Some(json!(["expiresAt"]))),
        (r#"{"name":"n","scopes":["nope:read"]}"#, Some(json!(["scopes", 0]))),
        (r#"{"name":"n","scopes":[]}"#, Some(json!(["scopes"]))),
        (r#"{"name":"","scopes":["account:read"]}"#, Some(json!(["name"]))),
        (r#"{"name":"n","scopes":["account:read"],"expiresInDays":366}"#, Some(json!(["expiresInDays"]))),
        (r#"{"name":"n","scopes":["account:read"],"expiresAt":"2001-01-01T00:00:00Z"}"#, Some(json!(["expiresAt"]))),
        (
            r#"{"name":"n","scopes":["account:read"],"expiresInDays":5,"expiresAt":"2099-01-01T00:00:00Z"}"#,
            Some(json!(["expiresAt"])),
        ),
        (r#"{"name":"n","scopes":["account:read"]} trailing"#, Some(json!([]))),
    ];
    for (body, path) in cases {
        let response = app.send(raw_post(&token, Some("application/json"), body.to_string())).await;
        response.assert_error(400, "VALIDATION_FAILED");
        let details = response.body["error"]["details"].as_array().expect("details");
        assert!(!details.is_empty(), "{body}");
        assert!(details[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        if let Some(path) = path {
            assert_eq!(&details[0]["path"], path, "{body}: {}", response.body);
        }
    }
    let unknown = app.send(raw_post(&token, Some("application/json"), r#"{"name":"n","scopes":["nope"]}"#)).await;
    assert!(
        unknown.body["error"]["details"][0]["message"].as_str().expect("m").contains("account:read"),
        "lists valid scopes"
    );
    assert_eq!(app.count_tokens(&owner.account_id).await, before, "nothing half-written");
}

#[tokio::test]
async fn error_bodies_stay_small_whatever_the_request() {
    let (app, owner, token) = setup().await;
    let scopes: Vec<String> = (0..10_000).map(|i| format!("s{}", i % 10)).collect();
    let body = json!({"name": "n", "scopes": scopes}).to_string();
    assert!(body.len() > 40_000, "{}", body.len());
    let (status, _, text) = app.send_text(raw_post(&token, Some("application/json"), body.clone())).await;
    assert_eq!(status.as_u16(), 400);
    assert!(text.len() < 4_096, "a {}-byte request got a {}-byte answer", body.len(), text.len());
    let answer: serde_json::Value = serde_json::from_str(&text).expect("json");
    let details = answer["error"]["details"].as_array().expect("details");
    assert_eq!(details.len(), 21, "the first 20 and a count");
    assert_eq!(details[0]["path"], json!(["scopes", 0]));
    assert_eq!(details[20]["message"], "9980 more problems are not listed");
    assert_eq!(text.matches("account:read").count(), 1, "the catalog is named once");
    assert!(answer["error"]["message"].as_str().expect("m").contains("10000 problems"), "{answer}");
    assert_eq!(app.count_tokens(&owner.account_id).await, 1);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversized_bodies_413() {
    let (app, owner, token) = setup().await;
    let body = r#"{"name":"n","scopes":["account:read"]}"#;
    app.send(raw_post(&token, None, body)).await.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.send(raw_post(&token, Some("text/plain"), body)).await.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.send(raw_post(&token, Some("application/x-www-form-urlencoded"), "name=n"))
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!(r#"{{"name":"{}","scopes":["account:read"]}}"#, "x".repeat(70 * 1024));
    app.send(raw_post(&token, Some("application/json"), huge)).await.assert_error(413, "PAYLOAD_TOO_LARGE");
    // Just under the limit is read and then validated.
    let big = format!(r#"{{"name":"{}","scopes":["account:read"]}}"#, "x".repeat(60 * 1024));
    app.send(raw_post(&token, Some("application/json"), big)).await.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(app.count_tokens(&owner.account_id).await, 1);
    // Unauthenticated oversized bodies are refused without being parsed.
    let request = Request::post("/api/v2/tokens")
        .header("content-type", "application/json")
        .body(Body::from("x".repeat(100_000)))
        .expect("req");
    assert!(matches!(app.send(request).await.status.as_u16(), 401 | 413));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_envelope() {
    let (app, _, token) = setup().await;
    app.get("/api/v2/nothing-here", &token).await.assert_error(404, "NOT_FOUND");
    app.request(Method::GET, "/nothing-here", None, None).await.assert_error(404, "NOT_FOUND");
    let page = Request::get("/nothing-here").header("accept", "text/html").body(Body::empty()).expect("req");
    let (status, _, body) = app.send_text(page).await;
    assert_eq!(status.as_u16(), 404);
    assert!(body.contains("Page not found"));
    let api = Request::get("/api/v2/nothing").header("accept", "text/html").body(Body::empty()).expect("req");
    assert_eq!(app.send(api).await.code(), "NOT_FOUND");
    let wrong = app.request(Method::DELETE, "/api/v2/tokens", Some(&token), None).await;
    wrong.assert_error(405, "METHOD_NOT_ALLOWED");
    assert!(wrong.header("allow").contains("POST"));
    app.request(Method::PUT, "/api/v2/account", Some(&token), None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    for id in ["tok_missing", "..%2F..%2Fetc", "%00", &"x".repeat(300)] {
        app.get(&format!("/api/v2/tokens/{id}"), &token).await.assert_error(404, "NOT_FOUND");
        app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &token).await.assert_error(404, "NOT_FOUND");
    }
}

/// Random bodies, random bytes and random headers: never a 5xx, never a panic.
#[tokio::test]
async fn random_input_never_causes_a_server_error() {
    let (app, owner, token) = setup().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5174_6770);
    let fragments = [
        "{",
        "}",
        "[",
        "]",
        "\"name\"",
        "\"scopes\"",
        ":",
        ",",
        "\"account:read\"",
        "null",
        "true",
        "1e400",
        "-1",
        "\"expiresInDays\"",
        "\"expiresAt\"",
        "\"chatbotIds\"",
        "\"\\u0000\"",
        "\"\u{1F600}\"",
        "9999999999999999999999",
    ];
    let mut created = 0;
    for _ in 0..300 {
        let body: String = if rng.gen_bool(0.2) {
            (0..rng.gen_range(0..64)).map(|_| char::from(rng.r#gen::<u8>())).collect()
        } else {
            (0..rng.gen_range(1..24)).map(|_| fragments[rng.gen_range(0..fragments.len())]).collect()
        };
        let response = app.send(raw_post(&token, Some("application/json"), body.clone())).await;
        assert!(response.status.as_u16() < 500, "{body:?} → {}", response.body);
        if response.status.as_u16() == 201 {
            created += 1;
        }
    }
    for _ in 0..100 {
        let header: Vec<u8> = (0..rng.gen_range(0..80)).map(|_| rng.gen_range(0x20u8..0x7f)).collect();
        let Ok(value) = axum::http::HeaderValue::from_bytes(&header) else { continue };
        let request = Request::get("/api/v2/account").header("authorization", value).body(Body::empty()).expect("req");
        let response = app.send(request).await;
        assert_eq!(response.status.as_u16(), 401, "{:?}", String::from_utf8_lossy(&header));
    }
    assert_eq!(app.count_tokens(&owner.account_id).await, 1 + created);
}

/// U+0000 cannot be stored (PostgreSQL refuses it), so bodies and queries
/// holding it are 400 with the path, and ids holding it match nothing: the
/// same answers on both engines, never a 500.
#[tokio::test]
async fn nul_characters_are_refused_or_match_nothing() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let scopes =
        [Scope::TokensRead, Scope::TokensWrite, Scope::ChatbotsRead, Scope::ChatbotsWrite, Scope::ChatbotsDelete];
    let (_, token) = app.token(&owner, &scopes).await;
    let bot_id = app.chatbot(&owner.account_id).await;
    let before = app.dump(&["last_used_at"]).await;

    let patch = json!({"description": "a\u{0}b"});
    let patched = app.request(Method::PATCH, &format!("/api/v2/chatbots/{bot_id}"), Some(&token), Some(patch)).await;
    patched.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(patched.body["error"]["details"][0]["path"], json!(["description"]), "{}", patched.body);
    let created = app.post("/api/v2/tokens", &token, json!({"name": "x\u{0}", "scopes": ["account:read"]})).await;
    created.assert_error(400, "VALIDATION_FAILED");
    app.get("/api/v2/chatbots/cb_%00", &token).await.assert_error(404, "NOT_FOUND");
    app.get("/api/v2/tokens/%00", &token).await.assert_error(404, "NOT_FOUND");
    app.request(Method::DELETE, "/api/v2/chatbots/%00", Some(&token), None).await.assert_error(404, "NOT_FOUND");
    app.get("/api/v2/chatbots?cursor=%00", &token).await.assert_error(400, "VALIDATION_FAILED");
    // Without a token the answer is still 401 first.
    app.request(Method::GET, "/api/v2/chatbots/%00", None, None).await.assert_error(401, "UNAUTHENTICATED");
    assert_eq!(before, app.dump(&["last_used_at"]).await, "nothing was written");
}
