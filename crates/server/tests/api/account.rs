//! `GET /api/v2/account` and the decision-table rows that apply to the
//! account and token routes.

use axum::body::Body;
use axum::http::{Method, Request};
use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::{Role, Scope, SubscriptionStatus};

use crate::helpers::{TestApp, on_postgres};

#[tokio::test]
async fn whoami_describes_user_account_role_and_token() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot = app.chatbot(&owner.account_id).await;
    let (id, token) = app
        .raw_token(&owner, [Scope::AccountRead].into_iter().collect(), &[&bot], Utc::now() + Duration::days(3))
        .await;
    let response = app.get("/api/v2/account", &token).await;
    let data = response.assert_ok(200);
    assert_eq!(data["user"], json!({"id": owner.id, "email": owner.email, "emailVerified": true}));
    assert_eq!(data["account"]["id"], owner.account_id.as_str());
    assert_eq!(data["account"]["name"], "Test team");
    assert_eq!(data["account"]["subscriptionStatus"], "active");
    assert_eq!(data["role"], "owner");
    assert_eq!(data["token"]["id"], id.as_str());
    assert_eq!(data["token"]["scopes"], json!(["account:read"]));
    assert_eq!(data["token"]["chatbotIds"], json!([bot]));
    assert!(data["token"]["expiresAt"].is_string());
    assert_eq!(response.header("x-request-id"), response.body["meta"]["requestId"].as_str().expect("id"));
}

#[tokio::test]
async fn missing_and_invalid_credentials_are_401_with_www_authenticate() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead]).await;
    let metadata = "resource_metadata=\"http://api.test/.well-known/oauth-protected-resource/api/v2\"";

    let none = app.request(Method::GET, "/api/v2/account", None, None).await;
    none.assert_error(401, "UNAUTHENTICATED");
    assert!(none.header("www-authenticate").starts_with("Bearer "));
    assert!(none.header("www-authenticate").contains(metadata));
    assert!(!none.header("www-authenticate").contains("error="));

    let mut bad_checksum = token.clone().into_bytes();
    let last = bad_checksum.len() - 1;
    bad_checksum[last] = if bad_checksum[last] == b'a' { b'b' } else { b'a' };
    let bad_checksum = String::from_utf8(bad_checksum).expect("ascii");
    let unknown = sitegpt_access::PlainToken::generate().expose();
    for credential in [bad_checksum.as_str(), unknown.as_str(), "sgpt_short", "not-a-token", ""] {
        let response = app.get("/api/v2/account", credential).await;
        response.assert_error(401, "UNAUTHENTICATED");
        assert!(response.header("www-authenticate").contains("error=\"invalid_token\""), "{credential}");
        assert!(response.header("www-authenticate").contains(metadata));
    }

    for header in [format!("Basic {token}"), token.clone(), format!("Bearer  {token} extra"), "Bearer".into()] {
        let request = Request::get("/api/v2/account").header("authorization", header).body(Body::empty()).expect("req");
        app.send(request).await.assert_error(401, "UNAUTHENTICATED");
    }
    let twice = Request::get("/api/v2/account")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("req");
    app.send(twice).await.assert_error(401, "UNAUTHENTICATED");
    // The scheme is case-insensitive.
    let lower = Request::get("/api/v2/account")
        .header("authorization", format!("bearer {token}"))
        .body(Body::empty())
        .expect("req");
    app.send(lower).await.assert_ok(200);
}

#[tokio::test]
async fn unverified_e_mail_is_403_before_scope_and_validation() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let unverified = app.new_user(Some((&owner.account_id, Role::Member)), false).await;
    let (_, token) = app.token(&unverified, &[Scope::AccountRead]).await;
    app.get("/api/v2/account", &token).await.assert_error(403, "EMAIL_NOT_VERIFIED");
    // Lacks tokens:write and sends garbage, but the e-mail step answers first.
    app.post("/api/v2/tokens", &token, json!({"bogus": true})).await.assert_error(403, "EMAIL_NOT_VERIFIED");
    app.store().verify_email(&unverified.id, Utc::now()).await.expect("verify");
    app.get("/api/v2/account", &token).await.assert_ok(200);
}

#[tokio::test]
async fn missing_scope_is_403_with_the_scope_named_before_validation() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (token_id, token) = app.token(&owner, &[Scope::TokensRead]).await;
    let cases = [
        (Method::GET, "/api/v2/account".to_owned(), "account:read"),
        (Method::POST, "/api/v2/tokens".to_owned(), "tokens:write"),
        (Method::POST, format!("/api/v2/tokens/{token_id}/rotate"), "tokens:write"),
        (Method::POST, format!("/api/v2/tokens/{token_id}/revoke"), "tokens:write"),
    ];
    for (method, path, scope) in cases {
        let response = app.request(method, &path, Some(&token), Some(json!({"invalid": "body"}))).await;
        response.assert_error(403, "INSUFFICIENT_SCOPE");
        let header = response.header("www-authenticate");
        assert!(header.contains(&format!("error=\"insufficient_scope\", scope=\"{scope}\"")), "{path}: {header}");
    }
    let (_, reader) = app.token(&owner, &[Scope::AccountRead]).await;
    for path in ["/api/v2/tokens".to_owned(), format!("/api/v2/tokens/{token_id}")] {
        let response = app.get(&path, &reader).await;
        response.assert_error(403, "INSUFFICIENT_SCOPE");
        assert!(response.header("www-authenticate").contains("scope=\"tokens:read\""));
    }
    // Nothing was rotated or revoked by the refused calls.
    app.get("/api/v2/tokens", &token).await.assert_ok(200);
}

#[tokio::test]
async fn account_and_token_routes_work_without_an_active_subscription() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    app.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("sub");
    let (id, token) = app.token(&owner, &[Scope::AccountRead, Scope::TokensRead, Scope::TokensWrite]).await;
    assert_eq!(app.get("/api/v2/account", &token).await.assert_ok(200)["account"]["subscriptionStatus"], "inactive");
    app.get("/api/v2/tokens", &token).await.assert_ok(200);
    app.post("/api/v2/tokens", &token, json!({"name": "n", "scopes": ["account:read"]})).await.assert_ok(201);
    app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &token).await.assert_ok(200);
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane() {
    let app = TestApp::new().await;
    let request =
        Request::get("/api/v2/account").header("x-request-id", "client-trace.42").body(Body::empty()).expect("req");
    let response = app.send(request).await;
    assert_eq!(response.header("x-request-id"), "client-trace.42");
    assert_eq!(response.body["meta"]["requestId"], "client-trace.42");
    let request = Request::get("/api/v2/account").header("x-request-id", "<script>").body(Body::empty()).expect("req");
    let response = app.send(request).await;
    assert!(response.header("x-request-id").starts_with("req_"));
    assert_eq!(response.body["meta"]["requestId"], response.header("x-request-id"));
}

#[tokio::test]
async fn health_endpoints_answer_without_credentials() {
    let app = TestApp::new().await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status.as_u16(), 200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status.as_u16(), 200);
    assert_eq!(ready.body["store"], if on_postgres() { "postgres" } else { "sqlite" });
    if on_postgres() {
        // The node hears other nodes once its listening connection is up.
        let mut notifications = ready.body["notifications"].clone();
        for _ in 0..200 {
            if notifications == "listening" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            notifications = app.request(Method::GET, "/readyz", None, None).await.body["notifications"].clone();
        }
        assert_eq!(notifications, "listening");
    } else {
        assert!(ready.body.get("notifications").is_none(), "one SQLite node has no one to hear");
    }
}
