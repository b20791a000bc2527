//! Account-level routes: renaming, members and their owner protections,
//! integrations whose secrets never come back, and billing.

use axum::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::{Role, ScopeSet};

use crate::helpers::{TestApp, TestUser};

async fn full_token(app: &TestApp, user: &TestUser) -> String {
    app.raw_token(user, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await.1
}

#[tokio::test]
async fn renaming_the_account_shows_at_once() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let token = full_token(&app, &owner).await;
    assert_eq!(app.get("/api/v2/account", &token).await.body["data"]["account"]["name"], "Test team");
    let renamed =
        app.request(Method::PATCH, "/api/v2/account", Some(&token), Some(json!({"name": "Acme Support"}))).await;
    assert_eq!(renamed.assert_ok(200)["account"]["name"], "Acme Support");
    assert_eq!(app.get("/api/v2/account", &token).await.body["data"]["account"]["name"], "Acme Support");
    app.request(Method::PATCH, "/api/v2/account", Some(&token), Some(json!({"name": ""})))
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn members_and_owner_protections() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let admin = app.member(&owner.account_id, Role::Admin).await;
    let outsider = app.owner().await;
    let owner_token = full_token(&app, &owner).await;
    let admin_token = full_token(&app, &admin).await;

    let listed = app.get("/api/v2/members", &admin_token).await;
    assert_eq!(listed.assert_ok(200)["items"].as_array().expect("items").len(), 2);
    let first = app.get("/api/v2/members?limit=1", &admin_token).await;
    let cursor = first.assert_ok(200)["nextCursor"].as_str().expect("a second page").to_owned();
    let second = app.get(&format!("/api/v2/members?limit=1&cursor={cursor}"), &admin_token).await;
    let second = second.assert_ok(200).clone();
    assert_eq!(second["items"].as_array().expect("items").len(), 1);
    assert!(second["nextCursor"].is_null());
    assert_ne!(second["items"][0]["userId"], first.body["data"]["items"][0]["userId"]);

    // A registered address and an unknown one get the same answer: an
    // invitation, which the person accepts.
    let added = app.post("/api/v2/members", &admin_token, json!({"email": outsider.email, "role": "member"})).await;
    let unknown =
        app.post("/api/v2/members", &admin_token, json!({"email": "nobody@example.com", "role": "member"})).await;
    let shape = |r: &crate::helpers::TestResponse| {
        let mut data = r.assert_ok(202)["invitation"].clone();
        for key in ["id", "email", "expiresAt"] {
            data[key] = json!("…");
        }
        data
    };
    assert_eq!(shape(&added), shape(&unknown));
    assert!(app.store().member(&owner.account_id, &outsider.id).await.expect("q").is_none(), "not before accepting");
    app.post("/api/v2/members", &admin_token, json!({"email": outsider.email, "role": "member"}))
        .await
        .assert_error(409, "CONFLICT");
    let invitation = added.body["data"]["invitation"]["id"].as_str().expect("id");
    app.store().accept_invitations(&outsider.email, &outsider.id, Some(invitation), Utc::now()).await.expect("accept");
    let again = app.post("/api/v2/members", &admin_token, json!({"email": outsider.email, "role": "viewer"})).await;
    again.assert_error(409, "CONFLICT");
    assert!(again.body["error"]["message"].as_str().expect("message").contains("already a member"));
    let bad = app.post("/api/v2/members", &admin_token, json!({"email": "not an address", "role": "viewer"})).await;
    bad.assert_error(400, "VALIDATION_FAILED");

    // Admins cannot make, demote or remove owners.
    let path = format!("/api/v2/members/{}", outsider.id);
    app.request(Method::PATCH, &path, Some(&admin_token), Some(json!({"role": "owner"})))
        .await
        .assert_error(403, "FORBIDDEN");
    let owner_path = format!("/api/v2/members/{}", owner.id);
    app.request(Method::PATCH, &owner_path, Some(&admin_token), Some(json!({"role": "viewer"})))
        .await
        .assert_error(403, "FORBIDDEN");
    app.request(Method::DELETE, &owner_path, Some(&admin_token), None).await.assert_error(403, "FORBIDDEN");
    // The last owner cannot leave or be demoted, even by an owner.
    app.request(Method::PATCH, &owner_path, Some(&owner_token), Some(json!({"role": "admin"})))
        .await
        .assert_error(409, "CONFLICT");
    app.request(Method::DELETE, &owner_path, Some(&owner_token), None).await.assert_error(409, "CONFLICT");

    let promoted = app.request(Method::PATCH, &path, Some(&admin_token), Some(json!({"role": "admin"}))).await;
    assert_eq!(promoted.assert_ok(200)["member"]["role"], "admin");
    let outsider_token = full_token(&app, &TestUser { account_id: owner.account_id.clone(), ..outsider.clone() }).await;
    app.get("/api/v2/account", &outsider_token).await.assert_ok(200);
    app.request(Method::DELETE, &path, Some(&admin_token), None).await.assert_ok(200);
    let gone = app.get("/api/v2/account", &outsider_token).await;
    assert_eq!(gone.status.as_u16(), 401, "a removed member's tokens stop working");
    app.request(Method::DELETE, &path, Some(&admin_token), None).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn integration_secrets_are_write_only() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let token = full_token(&app, &owner).await;
    let created = app
        .post(
            "/api/v2/integrations",
            &token,
            json!({"type": "slack", "config": {"channel": "#support"}, "secrets": {"botToken": "xoxb-very-secret"}}),
        )
        .await;
    let integration = created.assert_ok(201)["integration"].clone();
    assert_eq!(integration["secretFields"], json!(["botToken"]));
    assert!(!created.body.to_string().contains("xoxb-very-secret"));
    let id = integration["id"].as_str().expect("id");
    let updated = app
        .request(
            Method::PATCH,
            &format!("/api/v2/integrations/{id}"),
            Some(&token),
            Some(json!({"secrets": {"signingSecret": "s3"}})),
        )
        .await;
    assert_eq!(updated.assert_ok(200)["integration"]["secretFields"], json!(["botToken", "signingSecret"]));
    let listed = app.get("/api/v2/integrations", &token).await;
    assert!(!listed.body.to_string().contains("xoxb-very-secret") && !listed.body.to_string().contains("\"s3\""));
    app.post("/api/v2/integrations", &token, json!({"type": "fax"})).await.assert_error(400, "VALIDATION_FAILED");

    // Secret-looking config keys are refused, at any depth, on create and
    // update, with the way to send them; nothing is stored or echoed.
    for (config, path) in [
        (json!({"apiKey": "k-123-secret"}), json!(["config", "apiKey"])),
        (json!({"channel": "#a", "password": "p-123-secret"}), json!(["config", "password"])),
        (json!({"auth": {"client_secret": "c-123-secret"}}), json!(["config", "auth", "client_secret"])),
        (
            json!({"hooks": [{"url": "https://x", "signing_key": "s-123-secret"}]}),
            json!(["config", "hooks", 0, "signing_key"]),
        ),
        (json!({"token": "t-123-secret"}), json!(["config", "token"])),
    ] {
        let refused = app.post("/api/v2/integrations", &token, json!({"type": "webhook", "config": config})).await;
        refused.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(refused.body["error"]["details"][0]["path"], path, "{}", refused.body);
        assert!(refused.body["error"]["message"].as_str().expect("m").contains("`secrets`"), "{}", refused.body);
        assert!(!refused.body.to_string().contains("-123-secret"), "the value is not echoed");
        let patched = app
            .request(
                Method::PATCH,
                &format!("/api/v2/integrations/{id}"),
                Some(&token),
                Some(json!({"config": refused_config(&path)})),
            )
            .await;
        patched.assert_error(400, "VALIDATION_FAILED");
    }
    let listed = app.get("/api/v2/integrations", &token).await.body.to_string();
    assert!(!listed.contains("-123-secret"));
    assert_eq!(app.get("/api/v2/integrations", &token).await.body["data"]["items"].as_array().expect("items").len(), 1);
}

/// A config with a secret-looking key at the end of `path` (`["config", …]`).
fn refused_config(path: &serde_json::Value) -> serde_json::Value {
    let key = path.as_array().expect("path").last().expect("key").as_str().unwrap_or("apiKey").to_owned();
    json!({ key: "p-123-secret" })
}

#[tokio::test]
async fn only_owners_change_the_plan() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let admin = app.member(&owner.account_id, Role::Admin).await;
    let owner_token = full_token(&app, &owner).await;
    let admin_token = full_token(&app, &admin).await;
    let billing = app.get("/api/v2/billing", &admin_token).await;
    assert_eq!(billing.assert_ok(200)["billing"], json!({"plan": "free", "subscriptionStatus": "active"}));
    app.request(Method::PATCH, "/api/v2/billing", Some(&admin_token), Some(json!({"plan": "scale"})))
        .await
        .assert_error(403, "FORBIDDEN");
    let changed =
        app.request(Method::PATCH, "/api/v2/billing", Some(&owner_token), Some(json!({"plan": "growth"}))).await;
    assert_eq!(changed.assert_ok(200)["billing"]["plan"], "growth");
    assert_eq!(app.get("/api/v2/billing", &owner_token).await.body["data"]["billing"]["plan"], "growth");
}

#[tokio::test]
async fn people_without_a_user_are_invited_and_join_when_they_verify_their_address() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let token = full_token(&app, &owner).await;
    let invited = app.post("/api/v2/members", &token, json!({"email": "New.Hire@example.com", "role": "member"})).await;
    assert_eq!(invited.status.as_u16(), 202, "{}", invited.body);
    assert_eq!(invited.body["data"]["invitation"]["email"], "new.hire@example.com");
    assert_eq!(invited.body["data"]["invitation"]["role"], "member");
    assert!(app.outbox().await.iter().any(|m| m.contains("To: new.hire@example.com") && m.contains("/signup")));
    app.post("/api/v2/members", &token, json!({"email": "new.hire@example.com", "role": "admin"}))
        .await
        .assert_error(409, "CONFLICT");

    let joined = || async {
        let members = app.get("/api/v2/members", &token).await;
        members.assert_ok(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|m| m["email"] == "new.hire@example.com")
            .map(|m| m["role"].clone())
            .collect::<Vec<_>>()
    };
    let mut browser = crate::helpers::Browser::new(&app);
    let link = browser.sign_up("new.hire@example.com", "correct horse battery").await;
    // Anyone can sign up with an address: only proving it joins the team.
    assert!(joined().await.is_empty(), "not before the address is verified");
    browser.open_link(&link).await.assert_contains("Your e-mail is verified");
    assert_eq!(joined().await, vec![json!("member")]);
}
