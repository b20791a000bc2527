//! The deprecated v0 API: whitelabel brand users and their API keys, with
//! every documented error in the v0 envelope and the deprecation headers.

use axum::body::Body;
use axum::http::{Method, Request};
use chrono::Utc;
use serde_json::{Value, json};
use sitegpt_access::v0_key::{generate as new_key, hash as hash_key};
use sitegpt_access::{Role, Scope};
use sitegpt_store::{Brand, BrandUser, V0KeyOwner};

use crate::helpers::{TestApp, TestResponse, TestUser, captured_logs, contains};

/// A whitelabel customer (owner of a whitelabel account) with a v0 key, a
/// brand, and one brand user.
struct Setup {
    customer: TestUser,
    key: String,
    brand: String,
    user: String,
}

async fn v0_key_for(app: &TestApp, owner: V0KeyOwner) -> String {
    let (key, hint) = new_key();
    app.store().replace_v0_key(owner, hash_key(&key), hint, Utc::now()).await.expect("key");
    key
}

async fn brand_in(app: &TestApp, account_id: &str, id: &str) -> String {
    let brand = Brand { id: id.into(), account_id: account_id.into(), name: "Acme AI".into(), created_at: Utc::now() };
    app.store().create_brand(brand).await.expect("brand");
    id.to_owned()
}

async fn brand_user_in(app: &TestApp, brand_id: &str, id: &str, email: &str) -> String {
    let now = Utc::now();
    let user = BrandUser {
        id: id.into(),
        brand_id: brand_id.into(),
        email: email.into(),
        name: None,
        message_quota: Some(100),
        created_at: now,
        updated_at: now,
    };
    app.store().create_brand_user(user).await.expect("brand user");
    id.to_owned()
}

async fn setup(app: &TestApp) -> Setup {
    let customer = app.owner().await;
    app.store().set_whitelabel(&customer.account_id, true, Utc::now()).await.expect("whitelabel");
    let key = v0_key_for(app, V0KeyOwner::User(customer.id.clone())).await;
    let brand = brand_in(app, &customer.account_id, "401577831134278000").await;
    let user = brand_user_in(app, &brand, "401577831134278614", "test@gmail.com").await;
    Setup { customer, key, brand, user }
}

async fn call(app: &TestApp, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> TestResponse {
    app.request(method, path, key, body).await
}

fn key_path(brand: &str, user: &str) -> String {
    format!("/api/v0/w/brands/{brand}/users/{user}/api-key")
}

/// The v0 error envelope with `code`, and the deprecation headers.
#[track_caller]
fn assert_v0_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status.as_u16(), status, "{}", response.body);
    assert_eq!(response.body["success"], false, "{}", response.body);
    assert_eq!(response.body["data"], Value::Null);
    assert_eq!(response.body["error"]["code"], code, "{}", response.body);
    assert!(response.body["error"]["message"].is_string());
    assert!(response.body["message"].as_str().is_some_and(|m| m.starts_with("Failed to")));
    assert_deprecated(response);
}

#[track_caller]
fn assert_deprecated(response: &TestResponse) {
    assert_eq!(response.header("deprecation"), "@1767225600");
    assert_eq!(response.header("sunset"), "Wed, 30 Jun 2027 23:59:59 GMT");
    assert!(
        response.header("link").contains("<http://api.test/docs>; rel=\"deprecation\""),
        "{}",
        response.header("link")
    );
}

#[tokio::test]
async fn generating_a_key_answers_as_documented_and_replaces_the_old_key() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    let path = key_path(&s.brand, &s.user);
    let first = call(&app, Method::PATCH, &path, Some(&s.key), None).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    assert_deprecated(&first);
    assert_eq!(first.body["success"], true);
    assert_eq!(first.body["message"], "Generated API key of the whitelabel user successfully");
    assert_eq!(first.header("cache-control"), "no-store", "the new key is never cached");
    assert_eq!(first.body["data"]["userId"], "401577831134278614");
    assert_eq!(first.body["data"]["userEmail"], "test@gmail.com");
    let brand_key = first.body["data"]["apiKey"].as_str().expect("key").to_owned();
    assert!(sitegpt_access::v0_key::is_shaped(&brand_key), "{brand_key}");
    let stored = app.store().v0_key(hash_key(&brand_key)).await.expect("read").expect("stored by hash");
    assert_eq!(stored.owner, V0KeyOwner::BrandUser(s.user.clone()));

    // A new key replaces the old one.
    let second = call(&app, Method::PATCH, &path, Some(&s.key), None).await;
    let new_key = second.body["data"]["apiKey"].as_str().expect("key").to_owned();
    assert_ne!(new_key, brand_key);
    assert_eq!(app.store().v0_key(hash_key(&brand_key)).await.expect("read"), None, "the old key is gone");
    assert_v0_error(&call(&app, Method::PATCH, &path, Some(&brand_key), None).await, 401, "API_KEY_NOT_VALID");
    // The brand user's key is valid but is not a whitelabel customer's.
    assert_v0_error(&call(&app, Method::PATCH, &path, Some(&new_key), None).await, 403, "GENERATE_API_KEY_FORBIDDEN");
    // The customer's own key still works (it was not replaced); a body, if
    // a client sends one, is ignored.
    let with_body = Request::patch(&path)
        .header("authorization", format!("Bearer {}", s.key))
        .header("content-type", "text/plain")
        .body(Body::from("anything"))
        .expect("request");
    assert_eq!(app.send(with_body).await.status.as_u16(), 200);

    // Keys are never stored or logged in the clear.
    let bytes = app.database_bytes().await;
    let logs = captured_logs();
    for key in [&s.key, &brand_key, &new_key] {
        assert!(!contains(&bytes, key), "a v0 key is in the database");
        assert!(!logs.contains(key.as_str()), "a v0 key is in the log");
    }
}

#[tokio::test]
async fn every_documented_error_in_the_v0_envelope() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    let path = key_path(&s.brand, &s.user);

    // 405 for any other method (before the key is looked at), with Allow.
    for method in [Method::POST, Method::GET, Method::PUT, Method::DELETE] {
        let response = call(&app, method.clone(), &path, None, None).await;
        assert_v0_error(&response, 405, "REQUEST_METHOD_NOT_ALLOWED");
        assert_eq!(response.header("allow"), "PATCH");
        assert_eq!(response.body["error"]["message"], format!("{method} request method is not allowed"));
    }

    // 401: missing, malformed, unknown, a v2 token, another scheme.
    let (_, v2_token) = app.token(&s.customer, &[Scope::AccountRead]).await;
    let unknown = new_key().0;
    for header in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer not-a-key".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {v2_token}")),
        Some(format!("Basic {}", s.key)),
    ] {
        let mut request = Request::builder().method(Method::PATCH).uri(&path);
        if let Some(value) = &header {
            request = request.header("authorization", value);
        }
        let response = app.send(request.body(Body::empty()).expect("request")).await;
        assert_v0_error(&response, 401, "API_KEY_NOT_VALID");
        assert_eq!(response.body["error"]["message"], "Authorization header does not contain valid API key");
        assert_eq!(response.body["error"]["details"], Value::Null);
    }
    // Keys are not case-sensitive; and a v0 key is not a v2 token.
    let upper = call(&app, Method::PATCH, &path, Some(&s.key.to_uppercase()), None).await;
    assert_eq!(upper.status.as_u16(), 200, "{}", upper.body);
    app.get("/api/v2/account", &s.key).await.assert_error(401, "UNAUTHENTICATED");

    // 400 with details for ids that are missing or not ids.
    let response = call(&app, Method::PATCH, "/api/v0/w/brands//users/12/api-key", Some(&s.key), None).await;
    assert_v0_error(&response, 400, "REQUEST_VALIDATION_FAILED");
    assert_eq!(response.body["message"], "Failed to generate API key of the whitelabel user");
    assert_eq!(response.body["error"]["message"], "Request body is not valid");
    assert_eq!(response.body["error"]["details"], json!([{"path": ["brandId"], "message": "Required"}]));
    let response = call(&app, Method::PATCH, &key_path(&s.brand, "usr_x"), Some(&s.key), None).await;
    assert_v0_error(&response, 400, "REQUEST_VALIDATION_FAILED");
    assert_eq!(response.body["error"]["details"][0]["path"], json!(["userId"]));

    // 403: another customer's brand, a brand that does not exist, a member
    // who does not manage the account, and an account that is not whitelabel.
    let other = app.owner().await;
    app.store().set_whitelabel(&other.account_id, true, Utc::now()).await.expect("whitelabel");
    let other_brand = brand_in(&app, &other.account_id, "900").await;
    let other_user = brand_user_in(&app, &other_brand, "901", "someone@example.com").await;
    for path in [key_path(&other_brand, &other_user), key_path("12345", &s.user)] {
        let response = call(&app, Method::PATCH, &path, Some(&s.key), None).await;
        assert_v0_error(&response, 403, "GENERATE_API_KEY_FORBIDDEN");
        assert_eq!(
            response.body["error"]["message"],
            "You are not authorized to generate API key of the whitelabel user"
        );
    }
    let member = app.member(&s.customer.account_id, Role::Member).await;
    let member_key = v0_key_for(&app, V0KeyOwner::User(member.id.clone())).await;
    assert_v0_error(
        &call(&app, Method::PATCH, &path, Some(&member_key), None).await,
        403,
        "GENERATE_API_KEY_FORBIDDEN",
    );
    let admin = app.member(&s.customer.account_id, Role::Admin).await;
    let admin_key = v0_key_for(&app, V0KeyOwner::User(admin.id.clone())).await;
    assert_eq!(call(&app, Method::PATCH, &path, Some(&admin_key), None).await.status.as_u16(), 200, "admins may");
    app.store().set_whitelabel(&s.customer.account_id, false, Utc::now()).await.expect("off");
    assert_v0_error(&call(&app, Method::PATCH, &path, Some(&s.key), None).await, 403, "GENERATE_API_KEY_FORBIDDEN");
    app.store().set_whitelabel(&s.customer.account_id, true, Utc::now()).await.expect("on");

    // 404: no such user in the brand, including another brand's user.
    for user in ["777", other_user.as_str()] {
        let response = call(&app, Method::PATCH, &key_path(&s.brand, user), Some(&s.key), None).await;
        assert_v0_error(&response, 404, "GENERATE_API_KEY_USER_NOT_FOUND");
        assert_eq!(response.body["error"]["message"], "Whitelabel user not found");
    }
    // Unknown v0 paths get the envelope too.
    let response = call(&app, Method::GET, "/api/v0/w/brands", Some(&s.key), None).await;
    assert_v0_error(&response, 404, "REQUEST_PATH_NOT_FOUND");
}

#[tokio::test]
async fn a_store_failure_is_a_500_without_internals() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    app.execute_sql("DROP TABLE v0_api_keys").await;
    let response = call(&app, Method::PATCH, &key_path(&s.brand, &s.user), Some(&s.key), None).await;
    assert_v0_error(&response, 500, "GENERATE_API_KEY_FAILED");
    assert_eq!(response.body["error"]["message"], "Some technical error has occurred !!");
    let text = response.body.to_string();
    assert!(!text.contains("v0_api_keys") && !text.contains("table"), "internals leaked: {text}");
}

#[tokio::test]
async fn customers_create_brand_users_and_set_their_quotas() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    let users = format!("/api/v0/w/brands/{}/users", s.brand);
    let created =
        call(&app, Method::POST, &users, Some(&s.key), Some(json!({"email": " Grace@Example.com ", "name": "Grace"})))
            .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_deprecated(&created);
    assert_eq!(created.body["message"], "Created whitelabel user successfully");
    assert_eq!(created.body["data"]["userEmail"], "grace@example.com");
    assert_eq!(created.body["data"]["messageQuota"], Value::Null);
    let id = created.body["data"]["userId"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 18);
    // Her key can now be generated.
    assert_eq!(call(&app, Method::PATCH, &key_path(&s.brand, &id), Some(&s.key), None).await.status.as_u16(), 200);

    let again = call(&app, Method::POST, &users, Some(&s.key), Some(json!({"email": "grace@example.com"}))).await;
    assert_v0_error(&again, 409, "CREATE_WHITELABEL_USER_ALREADY_EXISTS");
    for (body, path, message) in [
        (json!({}), json!(["email"]), "Required"),
        (json!({"email": "nope"}), json!(["email"]), "Invalid email"),
        (json!({"email": 7}), json!(["email"]), "Expected string"),
        (json!({"email": "a@b.c", "role": "admin"}), json!(["role"]), "Unrecognized key"),
        (json!({"email": "a@b.c", "messageQuota": -1}), json!(["messageQuota"]), "Must be a whole number"),
        (json!({"email": "a@b.c", "name": ""}), json!(["name"]), "Must be 1 to 120 characters"),
        (json!([1, 2]), json!([]), "Expected object"),
    ] {
        let response = call(&app, Method::POST, &users, Some(&s.key), Some(body.clone())).await;
        assert_v0_error(&response, 400, "REQUEST_VALIDATION_FAILED");
        assert_eq!(response.body["error"]["details"][0]["path"], path, "{body}");
        let got = response.body["error"]["details"][0]["message"].as_str().unwrap_or_default();
        assert!(got.starts_with(message), "{body}: {got}");
    }
    let raw = Request::post(&users)
        .header("authorization", format!("Bearer {}", s.key))
        .header("content-type", "application/json")
        .body(Body::from("{\"email\":"))
        .expect("request");
    let response = app.send(raw).await;
    assert_v0_error(&response, 400, "REQUEST_VALIDATION_FAILED");
    assert_eq!(response.body["error"]["details"][0]["message"], "Malformed JSON");
    let response = call(&app, Method::PATCH, &users, Some(&s.key), None).await;
    assert_v0_error(&response, 405, "REQUEST_METHOD_NOT_ALLOWED");
    assert_eq!(response.header("allow"), "POST");

    // Quotas.
    let quota = format!("/api/v0/w/brands/{}/users/{}/quota", s.brand, s.user);
    let set = call(&app, Method::PATCH, &quota, Some(&s.key), Some(json!({"messageQuota": 2500}))).await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.body);
    assert_eq!(set.body["message"], "Updated quota of the whitelabel user successfully");
    assert_eq!(set.body["data"]["messageQuota"], 2500);
    let unlimited = call(&app, Method::PATCH, &quota, Some(&s.key), Some(json!({"messageQuota": null}))).await;
    assert_eq!(unlimited.body["data"]["messageQuota"], Value::Null);
    let stored = app.store().brand_user(&s.brand, &s.user).await.expect("read").expect("user");
    assert_eq!(stored.message_quota, None);
    let missing = call(&app, Method::PATCH, &quota, Some(&s.key), Some(json!({}))).await;
    assert_v0_error(&missing, 400, "REQUEST_VALIDATION_FAILED");
    assert_eq!(missing.body["error"]["details"], json!([{"path": ["messageQuota"], "message": "Required"}]));
    let nobody = format!("/api/v0/w/brands/{}/users/555/quota", s.brand);
    let response = call(&app, Method::PATCH, &nobody, Some(&s.key), Some(json!({"messageQuota": 1}))).await;
    assert_v0_error(&response, 404, "UPDATE_WHITELABEL_USER_QUOTA_USER_NOT_FOUND");
    let stranger = app.owner().await;
    let stranger_key = v0_key_for(&app, V0KeyOwner::User(stranger.id.clone())).await;
    let response = call(&app, Method::PATCH, &quota, Some(&stranger_key), Some(json!({"messageQuota": 1}))).await;
    assert_v0_error(&response, 403, "UPDATE_WHITELABEL_USER_QUOTA_FORBIDDEN");
    let response = call(&app, Method::POST, &users, Some(&stranger_key), Some(json!({"email": "x@example.com"}))).await;
    assert_v0_error(&response, 403, "CREATE_WHITELABEL_USER_FORBIDDEN");
}

/// Unknown v0 keys count against the same per-address budget as unknown v2
/// tokens: beyond it, 429 in the v0 envelope with `Retry-After`.
#[tokio::test]
async fn unknown_keys_are_limited_per_address() {
    let app = TestApp::new().await;
    let s = setup(&app).await;
    let path = key_path(&s.brand, &s.user);
    for _ in 0..sitegpt_server::auth::UNKNOWN_PER_MINUTE {
        let response = call(&app, Method::PATCH, &path, Some(&new_key().0), None).await;
        assert_v0_error(&response, 401, "API_KEY_NOT_VALID");
    }
    let limited = call(&app, Method::PATCH, &path, Some(&new_key().0), None).await;
    assert_v0_error(&limited, 429, "REQUEST_RATE_LIMITED");
    let wait: u64 = limited.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // The budget is shared with v2's unknown tokens.
    let unknown_v2 = sitegpt_access::PlainToken::generate().expose();
    app.get("/api/v2/account", &unknown_v2).await.assert_error(429, "RATE_LIMITED");
    // Requests that need no key lookup answer as before.
    assert_v0_error(&call(&app, Method::GET, &path, None, None).await, 405, "REQUEST_METHOD_NOT_ALLOWED");
    assert_v0_error(&call(&app, Method::PATCH, &path, Some("not-a-key"), None).await, 401, "API_KEY_NOT_VALID");
}
