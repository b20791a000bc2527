//! Content under a chatbot: one family in depth (knowledge), the others'
//! validation, and items reached through the wrong chatbot.

use axum::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::ScopeSet;

use crate::helpers::{TestApp, TestUser};

async fn setup() -> (TestApp, TestUser, String, String) {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot = app.chatbot(&owner.account_id).await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    (app, owner, bot, token)
}

#[tokio::test]
async fn knowledge_sources_lifecycle() {
    let (app, _, bot, token) = setup().await;
    let base = format!("/api/v2/chatbots/{bot}/knowledge");
    let created = app.post(&base, &token, json!({"type": "url", "url": "https://example.com/faq"})).await;
    let source = created.assert_ok(201)["knowledgeSource"].clone();
    assert_eq!(source["type"], "url");
    assert_eq!(source["status"], "pending");
    assert_eq!(source["chatbotId"], bot.as_str());
    let id = source["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("ks_"));

    let item = format!("{base}/{id}");
    let updated = app.request(Method::PATCH, &item, Some(&token), Some(json!({"status": "ready"}))).await;
    let updated = updated.assert_ok(200)["knowledgeSource"].clone();
    assert_eq!(updated["status"], "ready");
    assert_eq!(updated["url"], "https://example.com/faq", "untouched fields stay");

    for _ in 0..3 {
        app.post(&base, &token, json!({"type": "text", "content": "Opening hours"})).await.assert_ok(201);
    }
    let page = app.get(&format!("{base}?limit=2"), &token).await;
    let data = page.assert_ok(200).clone();
    assert_eq!(data["items"].as_array().expect("items").len(), 2);
    let next = data["nextCursor"].as_str().expect("cursor");
    let rest = app.get(&format!("{base}?limit=2&cursor={next}"), &token).await;
    assert_eq!(rest.assert_ok(200)["items"].as_array().expect("items").len(), 2);

    let deleted = app.request(Method::DELETE, &item, Some(&token), None).await;
    assert_eq!(deleted.assert_ok(200)["id"], id.as_str());
    app.get(&item, &token).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn each_family_validates_its_bodies() {
    let (app, _, bot, token) = setup().await;
    let cases = [
        ("knowledge", json!({"type": "url"}), json!(["url"])),
        ("knowledge", json!({"type": "url", "url": "ftp://x"}), json!(["url"])),
        ("knowledge", json!({"type": "file"}), json!(["fileName"])),
        ("knowledge", json!({"type": "video", "url": "https://x"}), json!(["type"])),
        ("personas", json!({"name": "", "prompt": "Be kind"}), json!(["name"])),
        ("instructions", json!({"content": "x".repeat(10_001)}), json!(["content"])),
        ("starters", json!({"text": "   "}), json!(["text"])),
        ("followups", json!({"text": "x".repeat(301)}), json!(["text"])),
        ("leads", json!({"notes": "no contact"}), json!([])),
        ("leads", json!({"email": "not-an-email"}), json!(["email"])),
        ("leads", json!({"phone": "call me"}), json!(["phone"])),
        ("leads", json!({"name": "Ada", "age": 36}), json!([])),
    ];
    for (kind, body, path) in cases {
        let response = app.post(&format!("/api/v2/chatbots/{bot}/{kind}"), &token, body.clone()).await;
        response.assert_error(400, "VALIDATION_FAILED");
        let details = response.body["error"]["details"].as_array().expect("details");
        if path != json!([]) {
            assert!(details.iter().any(|d| d["path"] == path), "{kind} {body}: {}", response.body);
        }
    }
}

#[tokio::test]
async fn items_are_reachable_only_through_their_own_chatbot() {
    let (app, owner, bot, token) = setup().await;
    let other_bot = app.chatbot(&owner.account_id).await;
    let created = app.post(&format!("/api/v2/chatbots/{bot}/leads"), &token, json!({"name": "Ada"})).await;
    let id = created.assert_ok(201)["lead"]["id"].as_str().expect("id").to_owned();
    app.get(&format!("/api/v2/chatbots/{other_bot}/leads/{id}"), &token).await.assert_error(404, "NOT_FOUND");
    app.get(&format!("/api/v2/chatbots/{bot}/personas/{id}"), &token).await.assert_error(404, "NOT_FOUND");
    app.get(&format!("/api/v2/chatbots/{bot}/leads/{id}"), &token).await.assert_ok(200);
    // Deleting the chatbot deletes what is under it.
    app.request(Method::DELETE, &format!("/api/v2/chatbots/{bot}"), Some(&token), None).await.assert_ok(200);
    assert!(app.store().item("leads", &id).await.expect("q").is_none());
}
