//! `/api/v2/tokens`: lifecycle, issuance rules, visibility, pagination, and
//! where plaintexts may (not) end up.

use chrono::{Duration, Utc};
use serde_json::json;
use sitegpt_access::{Role, Scope};

use crate::helpers::{TestApp, captured_logs, contains, full};

const MANAGE: &[Scope] = &[Scope::AccountRead, Scope::TokensRead, Scope::TokensWrite];

#[tokio::test]
async fn token_lifecycle_create_use_rotate_revoke() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, admin_token) = app.token(&owner, MANAGE).await;

    // Create.
    let created = app
        .post(
            "/api/v2/tokens",
            &admin_token,
            json!({"name": "Knowledge updater", "scopes": ["account:read", "tokens:read"], "expiresInDays": 30}),
        )
        .await;
    let data = created.assert_ok(201).clone();
    let id = data["token"]["id"].as_str().expect("id").to_owned();
    let first = data["plaintextToken"].as_str().expect("plaintext").to_owned();
    assert!(first.starts_with("sgpt_"));
    assert_eq!(data["token"]["scopes"], json!(["account:read", "tokens:read"]));
    assert_eq!(data["token"]["createdVia"], "api");
    assert_eq!(data["token"]["hint"], first[first.len() - 4..]);
    assert_eq!(data["token"]["userId"], owner.id.as_str());
    assert!(data["token"]["lastUsedAt"].is_null() && data["token"]["revokedAt"].is_null());
    assert_eq!(created.header("location"), format!("/api/v2/tokens/{id}"));
    assert_eq!(created.header("cache-control"), "no-store", "the only copy of the secret is never cached");
    let expires =
        chrono::DateTime::parse_from_rfc3339(data["token"]["expiresAt"].as_str().expect("expiresAt")).expect("date");
    let created_at =
        chrono::DateTime::parse_from_rfc3339(data["token"]["createdAt"].as_str().expect("createdAt")).expect("date");
    assert_eq!(expires - created_at, Duration::days(30));

    // Use.
    let me = app.get("/api/v2/account", &first).await;
    assert_eq!(me.assert_ok(200)["token"]["id"], id.as_str());

    // Get never shows the secret.
    let shown = app.get(&format!("/api/v2/tokens/{id}"), &first).await;
    assert!(!shown.body.to_string().contains(&first));
    assert!(shown.assert_ok(200)["token"].get("plaintextToken").is_none());

    // Rotate: same id, new secret, old one dead at once.
    let rotated = app.post_empty(&format!("/api/v2/tokens/{id}/rotate"), &admin_token).await;
    assert_eq!(rotated.header("cache-control"), "no-store");
    let listed = app.get("/api/v2/tokens", &admin_token).await;
    assert_eq!(listed.header("cache-control"), "private", "answers to a credential are never shared");
    let rotated = rotated.assert_ok(200).clone();
    assert_eq!(rotated["token"]["id"], id.as_str());
    assert_eq!(rotated["token"]["name"], "Knowledge updater");
    assert_eq!(rotated["token"]["scopes"], json!(["account:read", "tokens:read"]));
    let second = rotated["plaintextToken"].as_str().expect("plaintext").to_owned();
    assert_ne!(first, second);
    app.get("/api/v2/account", &first).await.assert_error(401, "UNAUTHENTICATED");
    let me = app.get("/api/v2/account", &second).await;
    assert_eq!(me.assert_ok(200)["token"]["id"], id.as_str());
    // Rotation keeps the lifetime length.
    let new_expiry =
        chrono::DateTime::parse_from_rfc3339(rotated["token"]["expiresAt"].as_str().expect("e")).expect("date");
    assert!((new_expiry - Utc::now().fixed_offset() - Duration::days(30)).num_seconds().abs() < 60);

    // Revoke.
    let revoked = app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &admin_token).await;
    assert!(revoked.assert_ok(200)["token"]["revokedAt"].is_string());
    let after = app.get("/api/v2/account", &second).await;
    after.assert_error(401, "TOKEN_REVOKED");
    assert!(after.header("www-authenticate").contains("error=\"invalid_token\""));

    // A revoked token cannot be rotated back to life; revoking again is harmless.
    app.post_empty(&format!("/api/v2/tokens/{id}/rotate"), &admin_token).await.assert_error(409, "CONFLICT");
    let again = app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &admin_token).await;
    assert_eq!(again.assert_ok(200)["token"]["revokedAt"], revoked.body["data"]["token"]["revokedAt"]);
}

#[tokio::test]
async fn expired_tokens_are_refused_with_token_expired() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.raw_token(&owner, full(), &[], Utc::now() - Duration::seconds(1)).await;
    let response = app.get("/api/v2/account", &token).await;
    response.assert_error(401, "TOKEN_EXPIRED");
    assert!(response.header("www-authenticate").contains("invalid_token"));
}

#[tokio::test]
async fn a_token_cannot_mint_scopes_it_lacks() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::TokensWrite, Scope::KnowledgeRead]).await;
    let before = app.count_tokens(&owner.account_id).await;
    let refused = app
        .post(
            "/api/v2/tokens",
            &token,
            json!({"name": "wider", "scopes": ["knowledge:read", "knowledge:write", "billing:write"]}),
        )
        .await;
    refused.assert_error(403, "FORBIDDEN");
    let offending: Vec<&str> = refused.body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["scope"].as_str())
        .collect();
    assert_eq!(offending, ["billing:write", "knowledge:write"]);
    assert_eq!(app.count_tokens(&owner.account_id).await, before, "nothing stored");
    // Within its own scopes it may.
    app.post("/api/v2/tokens", &token, json!({"name": "narrow", "scopes": ["knowledge:read"]})).await.assert_ok(201);
}

#[tokio::test]
async fn a_chatbot_restricted_token_cannot_mint_an_unrestricted_one() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let bot_a = app.chatbot(&owner.account_id).await;
    let bot_b = app.chatbot(&owner.account_id).await;
    let (_, token) = app.raw_token(&owner, full(), &[&bot_a], Utc::now() + Duration::days(1)).await;
    let unrestricted = app.post("/api/v2/tokens", &token, json!({"name": "all", "scopes": ["chatbots:read"]})).await;
    unrestricted.assert_error(403, "FORBIDDEN");
    let other = app
        .post("/api/v2/tokens", &token, json!({"name": "b", "scopes": ["chatbots:read"], "chatbotIds": [bot_b]}))
        .await;
    other.assert_error(403, "FORBIDDEN");
    assert_eq!(other.body["error"]["details"][0]["chatbotId"], bot_b.as_str());
    let same = app
        .post("/api/v2/tokens", &token, json!({"name": "a", "scopes": ["chatbots:read"], "chatbotIds": [bot_a]}))
        .await;
    assert_eq!(same.assert_ok(201)["token"]["chatbotIds"], json!([bot_a]));
}

#[tokio::test]
async fn a_viewer_cannot_mint_delete_scopes() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let viewer = app.member(&owner.account_id, Role::Viewer).await;
    // Even a token that carries the scope (stored before a demotion, say).
    let (_, token) = app.token(&viewer, &[Scope::TokensWrite, Scope::ChatbotsDelete, Scope::ChatbotsRead]).await;
    let refused = app.post("/api/v2/tokens", &token, json!({"name": "x", "scopes": ["chatbots:delete"]})).await;
    refused.assert_error(403, "FORBIDDEN");
    assert_eq!(refused.body["error"]["details"][0]["scope"], "chatbots:delete");
    app.post("/api/v2/tokens", &token, json!({"name": "x", "scopes": ["chatbots:read"]})).await.assert_ok(201);
}

#[tokio::test]
async fn unknown_chatbots_are_a_validation_error() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let other = app.owner().await;
    let foreign = app.chatbot(&other.account_id).await;
    let (_, token) = app.token(&owner, MANAGE).await;
    let response = app
        .post(
            "/api/v2/tokens",
            &token,
            json!({"name": "x", "scopes": ["account:read"], "chatbotIds": ["cb_nope", foreign]}),
        )
        .await;
    response.assert_error(400, "VALIDATION_FAILED");
    assert_eq!(response.body["error"]["details"][0]["path"], json!(["chatbotIds", 0]));
    assert_eq!(response.body["error"]["details"][1]["path"], json!(["chatbotIds", 1]));
}

#[tokio::test]
async fn a_demoted_user_s_tokens_shrink_at_once_and_a_removed_user_s_stop() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let admin = app.member(&owner.account_id, Role::Admin).await;
    let (_, token) =
        app.token(&admin, &[Scope::AccountRead, Scope::TokensRead, Scope::TokensWrite, Scope::MembersWrite]).await;

    app.get("/api/v2/tokens?owner=all", &token).await.assert_ok(200);
    let mint = json!({"name": "m", "scopes": ["members:write"]});
    app.post("/api/v2/tokens", &token, mint.clone()).await.assert_ok(201);
    assert_eq!(app.get("/api/v2/account", &token).await.assert_ok(200)["role"], "admin");

    app.store()
        .set_role(&owner.account_id, &admin.id, Role::Member, &sitegpt_store::Actor::system())
        .await
        .expect("demote");
    assert_eq!(app.get("/api/v2/account", &token).await.assert_ok(200)["role"], "member");
    app.get("/api/v2/tokens?owner=all", &token).await.assert_error(403, "FORBIDDEN");
    app.post("/api/v2/tokens", &token, mint).await.assert_error(403, "FORBIDDEN");

    app.store()
        .remove_member(&owner.account_id, &admin.id, Utc::now(), &sitegpt_store::Actor::system())
        .await
        .expect("remove");
    let gone = app.get("/api/v2/account", &token).await;
    assert_eq!(gone.status.as_u16(), 401, "{}", gone.body);
}

/// Another process (an admin command) writing to the same file is seen by
/// the server's cache within a millisecond (the `-shm` header is read at most
/// every 200 µs). (On PostgreSQL another node's writes arrive by
/// notification, within a second: see `nodes.rs`.)
#[tokio::test]
async fn changes_from_another_process_apply_within_a_millisecond() {
    let app = TestApp::new().await;
    if app.database_url.is_some() {
        return;
    }
    let owner = app.owner().await;
    let member = app.member(&owner.account_id, Role::Member).await;
    let (token_id, token) = app.token(&member, MANAGE).await;
    app.get("/api/v2/account", &token).await.assert_ok(200);
    let other = sitegpt_store::sqlite::SqliteStore::open(&app.db_path()).expect("second handle");
    use sitegpt_store::Store;

    let settle = || tokio::time::sleep(std::time::Duration::from_millis(1));
    other.set_role(&owner.account_id, &member.id, Role::Viewer, &sitegpt_store::Actor::system()).await.expect("role");
    settle().await;
    assert_eq!(app.get("/api/v2/account", &token).await.assert_ok(200)["role"], "viewer");

    other
        .set_subscription(
            &owner.account_id,
            sitegpt_access::SubscriptionStatus::Inactive,
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("sub");
    settle().await;
    let me = app.get("/api/v2/account", &token).await;
    assert_eq!(me.assert_ok(200)["account"]["subscriptionStatus"], "inactive");

    other.revoke_token(&token_id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
    settle().await;
    app.get("/api/v2/account", &token).await.assert_error(401, "TOKEN_REVOKED");
}

#[tokio::test]
async fn members_see_only_their_own_tokens_and_managers_see_all() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let member = app.member(&owner.account_id, Role::Member).await;
    let admin = app.member(&owner.account_id, Role::Admin).await;
    let (owner_token_id, owner_token) = app.token(&owner, MANAGE).await;
    let (member_token_id, member_token) = app.token(&member, MANAGE).await;
    let (_, admin_token) = app.token(&admin, MANAGE).await;

    let mine = app.get("/api/v2/tokens", &member_token).await;
    let ids: Vec<&str> =
        mine.assert_ok(200)["items"].as_array().expect("items").iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, [member_token_id.as_str()]);
    app.get(&format!("/api/v2/tokens/{owner_token_id}"), &member_token).await.assert_error(404, "NOT_FOUND");
    app.post_empty(&format!("/api/v2/tokens/{owner_token_id}/revoke"), &member_token)
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/api/v2/tokens?owner=all", &member_token).await.assert_error(403, "FORBIDDEN");

    let all = app.get("/api/v2/tokens?owner=all", &admin_token).await;
    assert_eq!(all.assert_ok(200)["items"].as_array().expect("items").len(), 3);
    app.get(&format!("/api/v2/tokens/{member_token_id}"), &admin_token).await.assert_ok(200);
    // Managers revoke others' tokens (incident response) but cannot take their secrets.
    app.post_empty(&format!("/api/v2/tokens/{member_token_id}/rotate"), &admin_token)
        .await
        .assert_error(403, "FORBIDDEN");
    app.post_empty(&format!("/api/v2/tokens/{member_token_id}/revoke"), &admin_token).await.assert_ok(200);
    app.get("/api/v2/account", &member_token).await.assert_error(401, "TOKEN_REVOKED");
    app.get("/api/v2/tokens?owner=all", &owner_token).await.assert_ok(200);
}

#[tokio::test]
async fn tokens_of_other_accounts_are_not_found() {
    let app = TestApp::new().await;
    let a = app.owner().await;
    let b = app.owner().await;
    let (_, a_token) = app.token(&a, MANAGE).await;
    let (b_token_id, b_token) = app.token(&b, MANAGE).await;
    for path in [format!("/api/v2/tokens/{b_token_id}")] {
        app.get(&path, &a_token).await.assert_error(404, "NOT_FOUND");
    }
    app.post_empty(&format!("/api/v2/tokens/{b_token_id}/rotate"), &a_token).await.assert_error(404, "NOT_FOUND");
    app.post_empty(&format!("/api/v2/tokens/{b_token_id}/revoke"), &a_token).await.assert_error(404, "NOT_FOUND");
    app.get("/api/v2/tokens/tok_doesnotexist", &a_token).await.assert_error(404, "NOT_FOUND");
    app.get("/api/v2/account", &b_token).await.assert_ok(200);
}

#[tokio::test]
async fn rotation_cannot_hand_out_more_than_the_caller_holds() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (wide_id, _) = app.token(&owner, &[Scope::BillingWrite, Scope::TokensWrite]).await;
    let (_, narrow) = app.token(&owner, &[Scope::TokensWrite]).await;
    let refused = app.post_empty(&format!("/api/v2/tokens/{wide_id}/rotate"), &narrow).await;
    refused.assert_error(403, "FORBIDDEN");
    assert_eq!(refused.body["error"]["details"][0]["scope"], "billing:write");
}

#[tokio::test]
async fn lists_paginate_with_an_opaque_cursor() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (own_id, token) = app.token(&owner, MANAGE).await;
    for i in 0..6 {
        app.post("/api/v2/tokens", &token, json!({"name": format!("t{i}"), "scopes": ["account:read"]}))
            .await
            .assert_ok(201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v2/tokens?limit=3".to_owned();
    loop {
        let page = app.get(&path, &token).await;
        let data = page.assert_ok(200);
        let items = data["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|t| t["id"].as_str().expect("id").to_owned()));
        match data["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v2/tokens?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);

    let revoked = seen.iter().find(|id| **id != own_id).expect("another token").clone();
    app.post_empty(&format!("/api/v2/tokens/{revoked}/revoke"), &token).await.assert_ok(200);
    let listed = app.get("/api/v2/tokens", &token).await;
    assert_eq!(listed.assert_ok(200)["items"].as_array().expect("items").len(), 6);
    let with_revoked = app.get("/api/v2/tokens?includeRevoked=true", &token).await;
    assert_eq!(with_revoked.assert_ok(200)["items"].as_array().expect("items").len(), 7);

    for bad in ["limit=0", "limit=201", "limit=x", "cursor=garbage!", "includeRevoked=maybe", "owner=them", "color=red"]
    {
        app.get(&format!("/api/v2/tokens?{bad}"), &token).await.assert_error(400, "VALIDATION_FAILED");
    }
}

#[tokio::test]
async fn use_is_recorded_in_last_used_at() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (id, token) = app.token(&owner, MANAGE).await;
    app.get("/api/v2/account", &token).await.assert_ok(200);
    let mut last_used = serde_json::Value::Null;
    for _ in 0..100 {
        last_used = app.get(&format!("/api/v2/tokens/{id}"), &token).await.body["data"]["token"]["lastUsedAt"].clone();
        if last_used.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(last_used.is_string(), "lastUsedAt was never written");
}

#[tokio::test]
async fn plaintexts_never_reach_the_database_or_the_logs() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (id, admin_token) = app.token(&owner, MANAGE).await;
    let mut secrets = vec![admin_token.clone()];
    for i in 0..3 {
        let created = app
            .post("/api/v2/tokens", &admin_token, json!({"name": format!("s{i}"), "scopes": ["account:read"]}))
            .await;
        let data = created.assert_ok(201);
        secrets.push(data["plaintextToken"].as_str().expect("plaintext").to_owned());
        let rotated = app
            .post_empty(&format!("/api/v2/tokens/{}/rotate", data["token"]["id"].as_str().expect("id")), &admin_token)
            .await;
        secrets.push(rotated.assert_ok(200)["plaintextToken"].as_str().expect("plaintext").to_owned());
    }
    // Failed attempts with secrets in odd places must not be logged either.
    app.get("/api/v2/account", &format!("{admin_token}x")).await.assert_error(401, "UNAUTHENTICATED");
    app.get(&format!("/api/v2/tokens/{admin_token}"), &admin_token).await.assert_error(404, "NOT_FOUND");
    app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &admin_token).await.assert_ok(200);

    let database = app.database_bytes().await;
    assert!(!database.is_empty());
    let logs = captured_logs();
    assert!(logs.contains("token issued"), "the log capture works");
    for secret in &secrets {
        assert!(!contains(&database, secret), "a plaintext token is in the database file");
        // The random part alone must not appear either.
        assert!(!contains(&database, &secret[5..40]));
        assert!(!logs.contains(&secret[5..40]), "a plaintext token is in the logs");
    }
}

/// Unknown tokens cannot make every request a database read: each address
/// may present a limited number of tokens the store does not know per
/// minute; beyond, tokens not already verified wait (429 with Retry-After)
/// while cached ones and already-refused ones answer as before.
#[tokio::test]
async fn unknown_tokens_are_remembered_and_limited_per_address() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, cached) = app.token(&owner, MANAGE).await;
    let (_, fresh) = app.token(&owner, MANAGE).await;
    app.get("/api/v2/account", &cached).await.assert_ok(200);
    let unknown: Vec<String> = (0..=sitegpt_server::auth::UNKNOWN_PER_MINUTE)
        .map(|_| sitegpt_access::PlainToken::generate().expose())
        .collect();
    for token in &unknown[..unknown.len() - 1] {
        app.get("/api/v2/account", token).await.assert_error(401, "UNAUTHENTICATED");
    }
    let limited = app.get("/api/v2/account", unknown.last().expect("one more")).await;
    limited.assert_error(429, "RATE_LIMITED");
    let wait: u64 = limited.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // A token already refused is remembered: still 401, no lookup needed.
    app.get("/api/v2/account", &unknown[0]).await.assert_error(401, "UNAUTHENTICATED");
    // A verified token goes on working.
    app.get("/api/v2/account", &cached).await.assert_ok(200);
    // A token this node never verified waits like any unknown one.
    app.get("/api/v2/account", &fresh).await.assert_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn a_token_made_or_rotated_by_a_token_never_outlives_it() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let day = Utc::now() + Duration::days(1);
    let (_, short) = app.raw_token(&owner, MANAGE.iter().copied().collect(), &[], day).await;
    let expiry = |data: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(data["token"]["expiresAt"].as_str().expect("expiresAt"))
            .expect("date")
            .with_timezone(&Utc)
    };

    // Asking for a year is refused, naming the field and the latest allowed.
    for (body, field) in [
        (json!({"name": "long", "scopes": ["account:read"], "expiresInDays": 365}), "expiresInDays"),
        (
            json!({"name": "long", "scopes": ["account:read"], "expiresAt": (Utc::now() + Duration::days(30)).to_rfc3339()}),
            "expiresAt",
        ),
    ] {
        let refused = app.post("/api/v2/tokens", &short, body).await;
        refused.assert_error(403, "FORBIDDEN");
        let detail = &refused.body["error"]["details"][0];
        assert_eq!(detail["path"], json!([field]), "{}", refused.body);
        let latest = chrono::DateTime::parse_from_rfc3339(detail["latestExpiresAt"].as_str().expect("latest"))
            .expect("date")
            .with_timezone(&Utc);
        assert!((latest - day).num_milliseconds().abs() <= 1, "{latest} vs {day}");
        assert!(refused.body["error"]["message"].as_str().expect("m").contains("cannot outlive"));
    }
    assert_eq!(app.count_tokens(&owner.account_id).await, 1, "nothing was minted");

    // The default 90 days ends with the calling token instead.
    let made = app.post("/api/v2/tokens", &short, json!({"name": "default", "scopes": ["tokens:write"]})).await;
    let made = made.assert_ok(201).clone();
    assert!(expiry(&made) <= day, "{} > {day}", expiry(&made));
    // A shorter explicit lifetime is kept as asked.
    let hours = app
        .post(
            "/api/v2/tokens",
            &short,
            json!({"name": "sooner", "scopes": ["account:read"], "expiresAt": (Utc::now() + Duration::hours(12)).to_rfc3339()}),
        )
        .await;
    assert!(expiry(hours.assert_ok(201)) < day);

    // Rotation through the API: a 90-day token rotated with the 1-day token
    // ends with the 1-day token.
    let (long_id, _) =
        app.raw_token(&owner, [Scope::AccountRead].into_iter().collect(), &[], Utc::now() + Duration::days(90)).await;
    let rotated = app.post_empty(&format!("/api/v2/tokens/{long_id}/rotate"), &short).await;
    assert!(expiry(rotated.assert_ok(200)) <= day, "{}", rotated.body);

    // The token minted by the short one cannot stretch itself either.
    let child = made["plaintextToken"].as_str().expect("plaintext").to_owned();
    let child_id = made["token"]["id"].as_str().expect("id").to_owned();
    let self_rotated = app.post_empty(&format!("/api/v2/tokens/{child_id}/rotate"), &child).await;
    assert!(expiry(self_rotated.assert_ok(200)) <= day, "{}", self_rotated.body);
}
