//! Settings and conversations under a chatbot.

use axum::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::ScopeSet;
use sitegpt_access::id::{IdKind, new_id};

use crate::helpers::TestApp;

#[tokio::test]
async fn settings_merge_and_validate() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot = app.chatbot(&owner.account_id).await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    let path = format!("/api/v2/chatbots/{bot}/settings");
    let defaults = app.get(&path, &token).await;
    let settings = defaults.assert_ok(200)["settings"].clone();
    assert_eq!(settings["localization"], json!({"language": "en", "timezone": "UTC"}));
    assert_eq!(settings["chatMode"]["mode"], "ai");

    let patched = app
        .request(
            Method::PATCH,
            &path,
            Some(&token),
            Some(json!({"chatMode": {"mode": "hybrid", "humanHandoff": true}, "localization": {"language": "pt-BR"}})),
        )
        .await;
    let settings = patched.assert_ok(200)["settings"].clone();
    assert_eq!(settings["chatMode"], json!({"mode": "hybrid", "humanHandoff": true}));
    assert_eq!(settings["localization"], json!({"language": "pt-BR", "timezone": "UTC"}), "other fields kept");
    assert_eq!(app.get(&path, &token).await.body["data"]["settings"], settings, "saved");

    let reset =
        app.request(Method::PATCH, &path, Some(&token), Some(json!({"localization": {"language": null}}))).await;
    assert_eq!(reset.assert_ok(200)["settings"]["localization"]["language"], "en", "null restores the default");

    // Nulls at every depth: a whole group, and one field of another, go back
    // to their defaults in the same patch that sets a third.
    let custom = json!({"general": {"displayName": "Ada", "responseLength": "long"}, "advanced": {"temperature": 0.9}});
    app.request(Method::PATCH, &path, Some(&token), Some(custom)).await.assert_ok(200);
    let nested = json!({"general": null, "advanced": {"temperature": null}, "userData": {"collectEmail": true}});
    let reset = app.request(Method::PATCH, &path, Some(&token), Some(nested)).await;
    let settings = reset.assert_ok(200)["settings"].clone();
    assert_eq!(settings["general"], json!({"displayName": "", "responseLength": "medium"}));
    assert_eq!(settings["advanced"], json!({"temperature": 0.3, "maxMessagesPerConversation": 50}));
    assert_eq!(settings["userData"]["collectEmail"], true);
    assert_eq!(app.get(&path, &token).await.body["data"]["settings"], settings, "saved");

    for (body, field) in [
        (json!({"advanced": {"temperature": 3}}), json!(["advanced", "temperature"])),
        (json!({"chatMode": {"mode": "telepathy"}}), json!(["chatMode", "mode"])),
        (json!({"general": {"colour": "red"}}), json!(["general", "colour"])),
        (json!({"localization": {"timezone": "not a zone!"}}), json!(["localization", "timezone"])),
    ] {
        let refused = app.request(Method::PATCH, &path, Some(&token), Some(body.clone())).await;
        refused.assert_error(400, "VALIDATION_FAILED");
        let paths: Vec<_> =
            refused.body["error"]["details"].as_array().expect("details").iter().map(|d| d["path"].clone()).collect();
        assert!(paths.contains(&field) || field == json!(["general", "colour"]), "{body}: {}", refused.body);
    }
    let not_object = app.request(Method::PATCH, &path, Some(&token), Some(json!([1, 2]))).await;
    not_object.assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn conversations_list_reply_resolve_delete() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot = app.chatbot(&owner.account_id).await;
    let (_, token) = app.raw_token(&owner, ScopeSet::all(), &[], Utc::now() + Duration::days(1)).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = new_id(IdKind::Conversation);
        let conversation = sitegpt_store::Conversation {
            id: id.clone(),
            account_id: owner.account_id.clone(),
            chatbot_id: bot.clone(),
            status: if i == 2 { "resolved".into() } else { "open".into() },
            visitor: format!("v{i}@example.com"),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let messages = (0..2)
            .map(|m| sitegpt_store::Message {
                id: new_id(IdKind::Message),
                conversation_id: id.clone(),
                role: if m == 0 { "visitor".into() } else { "assistant".into() },
                content: format!("message {m}"),
                created_at: Utc::now(),
            })
            .collect();
        app.store().insert_conversation(conversation, messages).await.expect("seed");
        ids.push(id);
    }
    let base = format!("/api/v2/chatbots/{bot}/conversations");
    let listed = app.get(&base, &token).await;
    let items = listed.assert_ok(200)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|c| c["messages"].as_array().expect("messages").len() == 2), "with their messages");
    let open = app.get(&format!("{base}?status=open"), &token).await;
    assert_eq!(open.assert_ok(200)["items"].as_array().expect("items").len(), 2);
    app.get(&format!("{base}?status=lost"), &token).await.assert_error(400, "VALIDATION_FAILED");

    let one = format!("{base}/{}", ids[0]);
    let reply =
        app.post(&format!("{one}/messages"), &token, json!({"content": "A person here, how can I help?"})).await;
    assert_eq!(reply.assert_ok(201)["message"]["role"], "agent");
    let resolved = app.request(Method::PATCH, &one, Some(&token), Some(json!({"status": "resolved"}))).await;
    let conversation = resolved.assert_ok(200)["conversation"].clone();
    assert_eq!(conversation["status"], "resolved");
    assert_eq!(conversation["messages"].as_array().expect("messages").len(), 3);
    assert_eq!(conversation["messages"][2]["content"], "A person here, how can I help?");
    app.post(&format!("{one}/messages"), &token, json!({"content": ""})).await.assert_error(400, "VALIDATION_FAILED");
    app.request(Method::PATCH, &one, Some(&token), Some(json!({"status": "lost"})))
        .await
        .assert_error(400, "VALIDATION_FAILED");

    app.request(Method::DELETE, &one, Some(&token), None).await.assert_ok(200);
    app.get(&one, &token).await.assert_error(404, "NOT_FOUND");
    let other_bot = app.chatbot(&owner.account_id).await;
    app.get(&format!("/api/v2/chatbots/{other_bot}/conversations/{}", ids[1]), &token)
        .await
        .assert_error(404, "NOT_FOUND");
}
