//! OAuth over HTTP: discovery, the device grant with every answer of RFC
//! 8628, revocation and introspection. Approval is made through the store
//! here; the approval page has its own tests.

use std::sync::Arc;

use axum::http::Method;
use base64::Engine;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::device::UserCode;
use sitegpt_access::{AccessLevel, Role, Scope, ScopeSet};
use sitegpt_store::{DeviceAuthorization, DeviceDecision};

use crate::helpers::{TestApp, TestUser, contains};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(app: &TestApp, extra: &[(&str, &str)]) -> Value {
    let mut pairs = vec![("client_id", "sitegpt-cli")];
    pairs.extend_from_slice(extra);
    let response = app.form("/oauth/device_authorization", &pairs, None).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    assert_eq!(response.header("cache-control"), "no-store");
    response.body
}

async fn stored(app: &TestApp, started: &Value) -> DeviceAuthorization {
    let code = UserCode::parse(started["user_code"].as_str().expect("user_code")).expect("valid code");
    app.store().device_by_user_code(code.normalized()).await.expect("query").expect("stored")
}

async fn poll(app: &TestApp, device_code: &str) -> crate::helpers::TestResponse {
    app.form("/oauth/token", &[("grant_type", GRANT), ("client_id", "sitegpt-cli"), ("device_code", device_code)], None)
        .await
}

#[track_caller]
pub fn assert_oauth_error(response: &crate::helpers::TestResponse, status: u16, error: &str) {
    assert_eq!(
        (response.status.as_u16(), response.body["error"].as_str().unwrap_or("")),
        (status, error),
        "{}",
        response.body
    );
    assert!(response.body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(response.header("cache-control"), "no-store");
}

async fn approve(app: &TestApp, device: &DeviceAuthorization, user: &TestUser) {
    app.store()
        .decide_device(
            &device.id,
            DeviceDecision::Approve { user_id: user.id.clone(), account_id: user.account_id.clone() },
            Utc::now(),
        )
        .await
        .expect("approve");
}

#[tokio::test]
async fn discovery_documents_describe_the_endpoints() {
    let app = TestApp::new().await;
    let server = app.request(Method::GET, "/.well-known/oauth-authorization-server", None, None).await;
    assert_eq!(server.status.as_u16(), 200);
    let m = &server.body;
    assert_eq!(m["issuer"], "http://api.test");
    assert_eq!(m["device_authorization_endpoint"], "http://api.test/oauth/device_authorization");
    assert_eq!(m["token_endpoint"], "http://api.test/oauth/token");
    assert_eq!(m["revocation_endpoint"], "http://api.test/oauth/revoke");
    assert_eq!(m["introspection_endpoint"], "http://api.test/oauth/introspect");
    assert_eq!(m["grant_types_supported"], json!(["authorization_code", "refresh_token", GRANT]));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["scopes_supported"].as_array().expect("scopes").len(), 37);
    assert_eq!(m["token_endpoint_auth_methods_supported"], json!(["none"]));
    assert!(m["service_documentation"].as_str().expect("docs").starts_with("http://api.test/"));

    let api = app.request(Method::GET, "/.well-known/oauth-protected-resource/api/v2", None, None).await;
    assert_eq!(api.body["resource"], "http://api.test/api/v2");
    assert_eq!(api.body["authorization_servers"], json!(["http://api.test"]));
    assert_eq!(api.body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(api.body["scopes_supported"].as_array().expect("scopes").len(), 37);
    let root = app.request(Method::GET, "/.well-known/oauth-protected-resource", None, None).await;
    assert_eq!(root.body["resource"], "http://api.test");
    assert_eq!(root.body["authorization_servers"], json!(["http://api.test"]));

    // Every 401 of /api/v2 points at the document above.
    let unauthenticated = app.request(Method::GET, "/api/v2/account", None, None).await;
    assert!(
        unauthenticated
            .header("www-authenticate")
            .contains("resource_metadata=\"http://api.test/.well-known/oauth-protected-resource/api/v2\"")
    );
}

#[tokio::test]
async fn device_authorization_answers_as_rfc_8628_says() {
    let app = TestApp::new().await;
    let started = start(&app, &[]).await;
    let user_code = started["user_code"].as_str().expect("user_code");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.chars().filter(|c| *c != '-').all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    assert_eq!(started["verification_uri"], "http://api.test/device");
    assert_eq!(started["verification_uri_complete"], format!("http://api.test/device?user_code={user_code}"));
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    let device_code = started["device_code"].as_str().expect("device_code");
    assert!(device_code.len() >= 40);

    let device = stored(&app, &started).await;
    assert_eq!(device.scopes, AccessLevel::Standard.scopes(), "omitted scope = Standard");
    assert_eq!(device.client_id, "sitegpt-cli");
    assert!(!contains(&app.database_bytes().await, device_code), "device codes are stored hashed");

    let custom = start(
        &app,
        &[
            ("scope", "account:read knowledge:write"),
            ("chatbot_id", "cb_1"),
            ("chatbot_id", "cb_2"),
            ("token_name", "laptop"),
        ],
    )
    .await;
    let device = stored(&app, &custom).await;
    assert_eq!(device.scopes, [Scope::AccountRead, Scope::KnowledgeWrite].into_iter().collect::<ScopeSet>());
    assert_eq!(device.chatbots.ids(), ["cb_1", "cb_2"]);
    assert_eq!(device.token_name.as_deref(), Some("laptop"));
}

#[tokio::test]
async fn device_authorization_refuses_bad_requests() {
    let app = TestApp::new().await;
    let long_name = "x".repeat(121);
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], 401, "invalid_client"),
        (vec![("client_id", "someone-else")], 401, "invalid_client"),
        (vec![("client_id", "sitegpt-cli"), ("client_id", "sitegpt-cli")], 400, "invalid_request"),
        (vec![("client_id", "sitegpt-cli"), ("scope", "account:read everything")], 400, "invalid_scope"),
        (vec![("client_id", "sitegpt-cli"), ("chatbot_id", "../etc")], 400, "invalid_request"),
        (vec![("client_id", "sitegpt-cli"), ("token_name", &long_name)], 400, "invalid_request"),
    ];
    for (pairs, status, error) in cases {
        let response = app.form("/oauth/device_authorization", &pairs, None).await;
        assert_oauth_error(&response, status, error);
    }
    let json_body =
        app.request(Method::POST, "/oauth/device_authorization", None, Some(json!({"client_id": "sitegpt-cli"}))).await;
    assert_oauth_error(&json_body, 400, "invalid_request");
}

#[tokio::test]
async fn token_endpoint_walks_through_every_answer() {
    let app = TestApp::new().await;
    let owner = app.owner().await;

    assert_oauth_error(
        &app.form("/oauth/token", &[("grant_type", "password"), ("client_id", "sitegpt-cli")], None).await,
        400,
        "unsupported_grant_type",
    );
    assert_oauth_error(&app.form("/oauth/token", &[("client_id", "sitegpt-cli")], None).await, 400, "invalid_request");
    assert_oauth_error(
        &app.form("/oauth/token", &[("grant_type", GRANT), ("client_id", "sitegpt-cli")], None).await,
        400,
        "invalid_request",
    );
    assert_oauth_error(
        &app.form("/oauth/token", &[("grant_type", GRANT), ("device_code", "x")], None).await,
        401,
        "invalid_client",
    );
    assert_oauth_error(&poll(&app, "not-a-device-code").await, 400, "invalid_grant");

    let started = start(&app, &[("scope", "account:read tokens:read"), ("token_name", "agent laptop")]).await;
    let device_code = started["device_code"].as_str().expect("device_code");
    // The first poll is never too soon; the next one within the interval is.
    assert_oauth_error(&poll(&app, device_code).await, 400, "authorization_pending");
    let slow = poll(&app, device_code).await;
    assert_oauth_error(&slow, 400, "slow_down");
    assert_eq!(slow.body["interval"], 10);
    let slower = poll(&app, device_code).await;
    assert_eq!(slower.body["interval"], 15, "the interval grows by 5 s per violation");

    let device = stored(&app, &started).await;
    approve(&app, &device, &owner).await;
    let issued = poll(&app, device_code).await;
    assert_eq!(issued.status.as_u16(), 200, "{}", issued.body);
    assert_eq!(issued.header("cache-control"), "no-store");
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["scope"], "account:read tokens:read");
    let expires_in = issued.body["expires_in"].as_i64().expect("expires_in");
    assert!((90 * 86_400 - 60..=90 * 86_400).contains(&expires_in));
    let access_token = issued.body["access_token"].as_str().expect("access_token");
    assert!(access_token.starts_with("sgpt_"));

    let me = app.get("/api/v2/account", access_token).await;
    let token_id = me.assert_ok(200)["token"]["id"].as_str().expect("id").to_owned();
    let token = app.get(&format!("/api/v2/tokens/{token_id}"), access_token).await;
    assert_eq!(token.body["data"]["token"]["createdVia"], "cli-device");
    assert_eq!(token.body["data"]["token"]["name"], "agent laptop");

    // Redeemable once.
    assert_oauth_error(&poll(&app, device_code).await, 400, "invalid_grant");
    assert!(!contains(&app.database_bytes().await, access_token));
}

#[tokio::test]
async fn denied_and_expired_requests_say_so() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let started = start(&app, &[]).await;
    let device = stored(&app, &started).await;
    app.store().decide_device(&device.id, DeviceDecision::Deny, Utc::now()).await.expect("deny");
    assert_oauth_error(&poll(&app, started["device_code"].as_str().expect("code")).await, 400, "access_denied");
    // A decided request cannot be decided again.
    let again = app
        .store()
        .decide_device(
            &device.id,
            DeviceDecision::Approve { user_id: owner.id.clone(), account_id: owner.account_id.clone() },
            Utc::now(),
        )
        .await;
    assert!(matches!(again, Err(sitegpt_store::StoreError::Conflict(_))));

    let started = start(&app, &[]).await;
    let device = stored(&app, &started).await;
    let late = Utc::now() + Duration::seconds(601);
    let refused = app
        .store()
        .decide_device(
            &device.id,
            DeviceDecision::Approve { user_id: owner.id.clone(), account_id: owner.account_id.clone() },
            late,
        )
        .await;
    assert!(matches!(refused, Err(sitegpt_store::StoreError::Conflict(_))), "expired requests cannot be approved");
    let code = sitegpt_access::device::DeviceCode::from_client(started["device_code"].as_str().expect("code"));
    let poll_late = app
        .store()
        .poll_device(
            sitegpt_store::DevicePoll {
                device_id: code.device_id().expect("the code names its authorization").to_owned(),
                device_code_hash: code.hash(),
                client_id: "sitegpt-cli".into(),
                now: late,
                token_id: "tok_unused".into(),
                token_hash: sitegpt_access::PlainToken::generate().hash(),
                token_hint: "xxxx".into(),
                default_name: "n".into(),
                token_expires_at: late,
            },
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("poll");
    assert_eq!(poll_late, sitegpt_store::DevicePollOutcome::Expired);
}

/// Fifty clients polling the same approved code at once get one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_code_yields_exactly_one_token_under_concurrent_polls() {
    let app = Arc::new(TestApp::new().await);
    let owner = app.owner().await;
    let started = start(&app, &[("scope", "account:read")]).await;
    let device_code = started["device_code"].as_str().expect("code").to_owned();
    approve(&app, &stored(&app, &started).await, &owner).await;
    let before = app.count_tokens(&owner.account_id).await;
    let mut polls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, code) = (Arc::clone(&app), device_code.clone());
        polls.spawn(async move { poll(&app, &code).await });
    }
    let mut issued = 0;
    while let Some(response) = polls.join_next().await {
        let response = response.expect("join");
        match response.status.as_u16() {
            200 => issued += 1,
            400 => assert_eq!(response.body["error"], "invalid_grant", "{}", response.body),
            other => panic!("unexpected {other}: {}", response.body),
        }
    }
    assert_eq!(issued, 1);
    assert_eq!(app.count_tokens(&owner.account_id).await, before + 1);
}

#[tokio::test]
async fn revocation_endpoint_revokes_what_it_is_given() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead]).await;
    let response = app
        .form(
            "/oauth/revoke",
            &[("token", &token), ("client_id", "sitegpt-cli"), ("token_type_hint", "access_token")],
            None,
        )
        .await;
    assert_eq!(response.status.as_u16(), 200);
    app.get("/api/v2/account", &token).await.assert_error(401, "TOKEN_REVOKED");
    // Unknown and malformed tokens: 200 all the same (RFC 7009 §2.2).
    let unknown = sitegpt_access::PlainToken::generate().expose();
    for value in [unknown.as_str(), "garbage"] {
        assert_eq!(app.form("/oauth/revoke", &[("token", value)], None).await.status.as_u16(), 200);
    }
    assert_oauth_error(&app.form("/oauth/revoke", &[], None).await, 400, "invalid_request");
    assert_oauth_error(
        &app.form("/oauth/revoke", &[("token", &token), ("client_id", "nope")], None).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn introspection_for_clients_and_same_account_tokens() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let viewer = app.member(&owner.account_id, Role::Viewer).await;
    let other = app.owner().await;
    let (token_id, token) = app.token(&viewer, &[Scope::AccountRead, Scope::ChatbotsDelete]).await;
    let (_, reader) = app.token(&owner, &[Scope::TokensRead]).await;
    let (_, other_reader) = app.token(&other, &[Scope::TokensRead]).await;
    let (_, no_scope) = app.token(&owner, &[Scope::AccountRead]).await;
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("resource-server:introspection-secret-1"));

    let as_client = app.form("/oauth/introspect", &[("token", &token)], Some(&basic)).await;
    assert_eq!(as_client.status.as_u16(), 200, "{}", as_client.body);
    let b = &as_client.body;
    assert_eq!(b["active"], true);
    assert_eq!(b["scope"], "account:read", "effective scopes: chatbots:delete is beyond a viewer");
    assert_eq!(b["sub"], viewer.id.as_str());
    assert_eq!(b["username"], viewer.email.as_str());
    assert_eq!(b["jti"], token_id.as_str());
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["iss"], "http://api.test");
    assert!(b["exp"].as_i64().expect("exp") > Utc::now().timestamp());

    let same_account = app.form("/oauth/introspect", &[("token", &token)], Some(&format!("Bearer {reader}"))).await;
    assert_eq!(same_account.body["active"], true);
    let other_account =
        app.form("/oauth/introspect", &[("token", &token)], Some(&format!("Bearer {other_reader}"))).await;
    assert_eq!(other_account.body, json!({"active": false}));
    let garbage = app.form("/oauth/introspect", &[("token", "nonsense")], Some(&basic)).await;
    assert_eq!(garbage.body, json!({"active": false}));

    assert_oauth_error(&app.form("/oauth/introspect", &[("token", &token)], None).await, 401, "invalid_client");
    let wrong_secret =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("resource-server:wrong-secret-000"));
    assert_oauth_error(
        &app.form("/oauth/introspect", &[("token", &token)], Some(&wrong_secret)).await,
        401,
        "invalid_client",
    );
    assert_oauth_error(
        &app.form("/oauth/introspect", &[("token", &token)], Some(&format!("Bearer {no_scope}"))).await,
        403,
        "insufficient_scope",
    );
    assert_oauth_error(&app.form("/oauth/introspect", &[], Some(&basic)).await, 400, "invalid_request");

    app.form("/oauth/revoke", &[("token", &token)], None).await;
    let revoked = app.form("/oauth/introspect", &[("token", &token)], Some(&basic)).await;
    assert_eq!(revoked.body, json!({"active": false}));
}

#[tokio::test]
async fn device_authorizations_are_limited_per_address() {
    let app = TestApp::new().await;
    let pairs = [("client_id", "sitegpt-cli"), ("scope", "account:read")];
    let limit = sitegpt_server::ratelimit::DEVICE_ADDRESS.max as usize;
    for _ in 0..limit {
        let response = app.form_from("/oauth/device_authorization", &pairs, "10.0.0.1:4000").await;
        assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    }
    let limited = app.form_from("/oauth/device_authorization", &pairs, "10.0.0.1:4001").await;
    assert_oauth_error(&limited, 429, "temporarily_unavailable");
    let wait: u64 = limited.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // Invalid requests are refused before they count, and other addresses go on.
    let bad = app.form_from("/oauth/device_authorization", &[("client_id", "nope")], "10.0.0.2:4000").await;
    assert_oauth_error(&bad, 401, "invalid_client");
    let other = app.form_from("/oauth/device_authorization", &pairs, "10.0.0.2:4000").await;
    assert_eq!(other.status.as_u16(), 200, "{}", other.body);
    assert_eq!(app.count_rows("device_authorizations").await, limit + 1, "the refused request stored nothing");
}

#[tokio::test]
async fn revocation_counts_unknown_tokens_against_the_address_budget() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, known) = app.token(&owner, &[Scope::AccountRead]).await;
    for _ in 0..sitegpt_server::auth::UNKNOWN_PER_MINUTE {
        let unknown = sitegpt_access::PlainToken::generate().expose();
        assert_eq!(app.form("/oauth/revoke", &[("token", &unknown)], None).await.status.as_u16(), 200);
    }
    let unknown = sitegpt_access::PlainToken::generate().expose();
    let limited = app.form("/oauth/revoke", &[("token", &unknown)], None).await;
    assert_oauth_error(&limited, 429, "temporarily_unavailable");
    assert!(limited.header("retry-after").parse::<u64>().is_ok());
    // The budget is the one API v2 spends too.
    let unknown = sitegpt_access::PlainToken::generate().expose();
    app.get("/api/v2/account", &unknown).await.assert_error(429, "RATE_LIMITED");
    // From another address, revocation still works.
    let revoked = app.form_from("/oauth/revoke", &[("token", &known)], "10.3.3.3:4000").await;
    assert_eq!(revoked.status.as_u16(), 200);
    let record = app.tokens_of(&owner.account_id).await;
    assert!(record.iter().all(|t| t.revoked_at.is_some()));
}

/// Polls too soon until the interval is the longest there is.
async fn poll_to_the_longest_interval(app: &TestApp, device_code: &str) {
    assert_oauth_error(&poll(app, device_code).await, 400, "authorization_pending");
    for _ in 0..20 {
        let slow = poll(app, device_code).await;
        assert_oauth_error(&slow, 400, "slow_down");
        if slow.body["interval"] == sitegpt_access::device::MAX_INTERVAL_SECS {
            return;
        }
    }
    panic!("the interval never reached its longest");
}

#[tokio::test]
async fn a_client_polling_too_fast_sees_a_decision_here_at_once_and_one_elsewhere_within_a_second() {
    let app = TestApp::new().await;
    let mut browser = crate::web::verified_owner(&app, "eager@example.com").await;

    // Approved on this node's page: the next too-early poll gets its token.
    let started = start(&app, &[]).await;
    let device_code = started["device_code"].as_str().expect("device_code");
    poll_to_the_longest_interval(&app, device_code).await;
    for _ in 0..50 {
        assert_oauth_error(&poll(&app, device_code).await, 400, "slow_down");
    }
    let code = started["user_code"].as_str().expect("code");
    let review = browser.get(&format!("/device?user_code={code}")).await;
    let pairs = [
        ("csrf", review.csrf()),
        ("user_code", code.to_owned()),
        ("account_id", review.field("account_id")),
        ("decision", "approve".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/device", &pairs).await.assert_contains("Access approved");
    let issued = poll(&app, device_code).await;
    assert_eq!(issued.status.as_u16(), 200, "{}", issued.body);
    assert_oauth_error(&poll(&app, device_code).await, 400, "invalid_grant");

    // Denied by another node (the store, as another node writes it): a
    // poller that ignores its interval learns of it within a second.
    let started = start(&app, &[]).await;
    let device_code = started["device_code"].as_str().expect("device_code");
    poll_to_the_longest_interval(&app, device_code).await;
    assert_oauth_error(&poll(&app, device_code).await, 400, "slow_down");
    let device = stored(&app, &started).await;
    app.store().decide_device(&device.id, DeviceDecision::Deny, Utc::now()).await.expect("deny");
    let decided_at = std::time::Instant::now();
    loop {
        let answer = poll(&app, device_code).await;
        if answer.body["error"] == "access_denied" {
            break;
        }
        assert_oauth_error(&answer, 400, "slow_down");
        assert!(decided_at.elapsed() < std::time::Duration::from_millis(1_500), "still slow_down after a second");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
