//! `/api/v2/chatbots`: CRUD, validation, paging, and chatbot restrictions.

use axum::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::{Role, ScopeSet};

use crate::helpers::TestApp;

#[tokio::test]
async fn create_get_update_delete() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    let created = app
        .post(
            "/api/v2/chatbots",
            &token,
            json!({"name": "Support", "description": "Answers questions", "appearance": {"primaryColor": "#4f46e5", "position": "right"}}),
        )
        .await;
    let chatbot = created.assert_ok(201)["chatbot"].clone();
    let id = chatbot["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("cb_"));
    assert_eq!(chatbot["appearance"], json!({"primaryColor": "#4f46e5", "position": "right"}));

    let shown = app.get(&format!("/api/v2/chatbots/{id}"), &token).await;
    assert_eq!(shown.assert_ok(200)["chatbot"]["name"], "Support");

    let patched = app
        .request(Method::PATCH, &format!("/api/v2/chatbots/{id}"), Some(&token), Some(json!({"name": "Helpdesk"})))
        .await;
    let patched = patched.assert_ok(200)["chatbot"].clone();
    assert_eq!(patched["name"], "Helpdesk");
    assert_eq!(patched["description"], "Answers questions", "untouched fields stay");

    let deleted = app.request(Method::DELETE, &format!("/api/v2/chatbots/{id}"), Some(&token), None).await;
    assert_eq!(deleted.assert_ok(200)["deleted"], true);
    app.get(&format!("/api/v2/chatbots/{id}"), &token).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bodies_are_validated_with_paths() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    let bad = app
        .post(
            "/api/v2/chatbots",
            &token,
            json!({"name": "", "description": "x".repeat(2001), "appearance": {"primaryColor": "blue", "welcomeMessage": "y".repeat(501)}}),
        )
        .await;
    bad.assert_error(400, "VALIDATION_FAILED");
    let paths: Vec<_> =
        bad.body["error"]["details"].as_array().expect("details").iter().map(|d| d["path"].clone()).collect();
    assert_eq!(
        paths,
        vec![
            json!(["name"]),
            json!(["description"]),
            json!(["appearance", "primaryColor"]),
            json!(["appearance", "welcomeMessage"])
        ]
    );
    let unknown = app.post("/api/v2/chatbots", &token, json!({"name": "x", "color": "red"})).await;
    unknown.assert_error(400, "VALIDATION_FAILED");
    let position = app.post("/api/v2/chatbots", &token, json!({"name": "x", "appearance": {"position": "top"}})).await;
    assert_eq!(position.body["error"]["details"][0]["path"], json!(["appearance", "position"]));
    let bot = app.chatbot(&owner.account_id).await;
    let empty = app.request(Method::PATCH, &format!("/api/v2/chatbots/{bot}"), Some(&token), Some(json!({}))).await;
    empty.assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn restricted_tokens_see_only_their_chatbots_and_cannot_create() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let mine = app.chatbot(&owner.account_id).await;
    let theirs = app.chatbot(&owner.account_id).await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[&mine], Utc::now() + Duration::days(1)).await;
    let listed = app.get("/api/v2/chatbots", &token).await;
    let ids: Vec<_> =
        listed.assert_ok(200)["items"].as_array().expect("items").iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, vec![json!(mine)], "filtered, not refused");
    app.get(&format!("/api/v2/chatbots/{theirs}"), &token).await.assert_error(404, "NOT_FOUND");
    app.post("/api/v2/chatbots", &token, json!({"name": "new"})).await.assert_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn lists_page_in_creation_order() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(app.chatbot(&owner.account_id).await);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v2/chatbots?limit=2".to_owned();
    loop {
        let page = app.get(&path, &token).await;
        let data = page.assert_ok(200).clone();
        seen.extend(data["items"].as_array().expect("items").iter().map(|c| c["id"].as_str().expect("id").to_owned()));
        match data["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v2/chatbots?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut sorted_made = made.clone();
    sorted_made.sort();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    assert_eq!(sorted_seen, sorted_made, "every chatbot once");
    app.get("/api/v2/chatbots?limit=500", &token).await.assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn members_read_chatbots_but_only_owners_and_admins_change_them() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot = app.chatbot(&owner.account_id).await;
    let member = app.member(&owner.account_id, Role::Member).await;
    let (_, token) = app.raw_token(&member, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    app.get(&format!("/api/v2/chatbots/{bot}"), &token).await.assert_ok(200);
    let refused =
        app.request(Method::PATCH, &format!("/api/v2/chatbots/{bot}"), Some(&token), Some(json!({"name": "x"}))).await;
    refused.assert_error(403, "FORBIDDEN");
    app.request(Method::DELETE, &format!("/api/v2/chatbots/{bot}"), Some(&token), None)
        .await
        .assert_error(403, "FORBIDDEN");
}
