//! The audit log through the API: changes made by tokens are logged with
//! who and from where (the client behind a trusted proxy), the listing's
//! visibility, filters, paging and errors, address refusals once a minute
//! per token, sign-ins, and the janitor's retention purge.

use axum::http::Method;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::{Role, Scope};
use sitegpt_store::AuditQuery;

use crate::helpers::{Browser, TestApp, full};

const LOG: &str = "/api/v2/audit-events";

/// The log's items as `manager` sees them with `query`.
async fn log(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page = app.get(&format!("{LOG}{query}"), token).await;
    page.assert_ok(200)["items"].as_array().expect("items").clone()
}

fn actions(items: &[Value]) -> Vec<&str> {
    items.iter().map(|e| e["action"].as_str().expect("action")).collect()
}

#[tokio::test]
async fn changes_made_with_tokens_are_logged_with_who_and_from_where() {
    let app = TestApp::behind_proxies("10.0.0.0/8").await;
    let owner = app.owner().await;
    let (manager_id, manager) = app.raw_token(&owner, full(), &[], Utc::now() + Duration::days(30)).await;
    // Times are kept to the millisecond: the fixture's creation is at least
    // one older than the rest, so `until` below has an earlier event to find.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let via_proxy = [("x-forwarded-for", "203.0.113.7"), ("user-agent", "curl/8.5.0")];
    let body = json!({"name": "deploy", "scopes": ["account:read"]});
    let created =
        app.request_from(Method::POST, "/api/v2/tokens", &manager, "10.0.0.2:4000", &via_proxy, Some(body)).await;
    let id = created.assert_ok(201)["token"]["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/api/v2/tokens/{id}/rotate"), &manager).await.assert_ok(200);
    app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &manager).await.assert_ok(200);
    let invite = json!({"email": "new-colleague@example.com", "role": "member"});
    app.post("/api/v2/members", &manager, invite).await.assert_ok(202);

    let items = log(&app, &manager, "").await;
    // The fixture token's creation (by the test itself) is the oldest.
    assert_eq!(actions(&items), ["member.invited", "token.revoked", "token.rotated", "token.created", "token.created"]);
    let made = &items[3];
    assert_eq!(made["tokenId"], id.as_str());
    assert_eq!(made["description"], "Token created");
    assert_eq!(made["actor"]["userId"], owner.id.as_str());
    assert_eq!(made["actor"]["email"], owner.email.as_str());
    assert_eq!(made["actor"]["tokenId"], manager_id.as_str());
    assert_eq!(made["ip"], "203.0.113.7", "the client the trusted proxy names");
    assert_eq!(made["userAgent"], "curl/8.5.0");
    assert_eq!(made["details"]["via"], "api");
    assert_eq!(made["details"]["name"], "deploy");
    assert_eq!(made["accountId"], owner.account_id.as_str());
    assert_eq!(items[0]["details"]["email"], "new-colleague@example.com");
    assert_eq!(items[4]["actor"]["service"], "system");
    assert!(items.iter().all(|e| e["id"].as_str().expect("id").starts_with("evt_")));
    // Never a secret: the created and rotated plaintexts are nowhere in the log.
    let text = serde_json::to_string(&items).expect("json");
    assert!(!text.contains("sgp_"), "{text}");

    // Filters.
    assert_eq!(log(&app, &manager, &format!("?tokenId={id}")).await.len(), 3);
    assert_eq!(actions(&log(&app, &manager, "?action=token.revoked").await), ["token.revoked"]);
    assert_eq!(log(&app, &manager, "?action=token").await.len(), 4);
    assert_eq!(actions(&log(&app, &manager, "?action=member").await), ["member.invited"]);
    let at = |e: &Value| e["occurredAt"].as_str().expect("time").parse::<DateTime<Utc>>().expect("RFC 3339");
    let ids = |events: &[Value]| events.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    // Dates are whole days, `until`'s included (the events may straddle midnight).
    let (first_day, last_day) = (at(&items[4]).format("%Y-%m-%d"), at(&items[0]).format("%Y-%m-%d"));
    assert_eq!(log(&app, &manager, &format!("?since={first_day}&until={last_day}")).await.len(), 5);
    let tomorrow = (Utc::now() + Duration::days(1)).format("%Y-%m-%d").to_string();
    assert!(log(&app, &manager, &format!("?since={tomorrow}")).await.is_empty());
    // A time is exact and `until`'s is left out: the events before the newest.
    let newest = items[0]["occurredAt"].as_str().expect("time");
    let before = log(&app, &manager, &format!("?until={}", newest.replace('+', "%2B"))).await;
    let older: Vec<Value> = items.iter().filter(|e| at(e) < at(&items[0])).map(|e| e["id"].clone()).collect();
    assert!(!older.is_empty(), "the fixture's creation is older: {items:?}");
    assert_eq!(ids(&before), older);

    // Paging, two at a time, gives every event once in the same order.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("{LOG}?limit=2{cursor}"), &manager).await;
        let data = page.assert_ok(200);
        seen.extend(data["items"].as_array().expect("items").iter().map(|e| e["id"].clone()));
        match data["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&items));

    // Bad filters are named.
    for (query, field) in [
        ("?action=token.exploded", "action"),
        ("?action=tok", "action"),
        ("?since=yesterday", "since"),
        ("?until=2026-02-30", "until"),
        ("?since=2026-12-02&until=2026-12-01", "until"),
        ("?tokenId=not%20an%20id", "tokenId"),
        ("?limit=0", "limit"),
        ("?cursor=%%%", "cursor"),
    ] {
        let refused = app.get(&format!("{LOG}{query}"), &manager).await;
        refused.assert_error(400, "VALIDATION_FAILED");
        assert_eq!(refused.body["error"]["details"][0]["path"], json!([field]), "{query}: {}", refused.body);
    }
    app.get(&format!("{LOG}?what=1"), &manager).await.assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn members_see_their_own_events_and_owners_everyone_s() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let member = app.member(&owner.account_id, Role::Member).await;
    let (_, manager) = app.raw_token(&owner, full(), &[], Utc::now() + Duration::days(30)).await;
    let (_, reader) = app.token(&member, &[Scope::AccountRead]).await;
    let (_, no_account_read) = app.token(&member, &[Scope::ChatbotsRead]).await;
    app.request(
        Method::PATCH,
        &format!("/api/v2/members/{}", member.id),
        Some(&manager),
        Some(json!({"role": "admin"})),
    )
    .await
    .assert_ok(200);
    app.request(
        Method::PATCH,
        &format!("/api/v2/members/{}", member.id),
        Some(&manager),
        Some(json!({"role": "member"})),
    )
    .await
    .assert_ok(200);
    app.post("/api/v2/tokens", &manager, json!({"name": "owner's", "scopes": ["account:read"]})).await.assert_ok(201);

    let theirs = log(&app, &reader, "").await;
    // Their two tokens' creation and the two role changes concerning them;
    // not the owner's token.
    assert_eq!(actions(&theirs), ["member.role_changed", "member.role_changed", "token.created", "token.created"]);
    assert!(theirs.iter().all(|e| e["userId"] == member.id.as_str()), "{theirs:?}");
    assert_eq!(theirs[0]["details"], json!({"from": "admin", "to": "member"}));
    assert_eq!(theirs[0]["userEmail"], member.email.as_str());
    // Asking for the owner's events shows only those that concern them too:
    // the role changes the owner made.
    let by_owner = log(&app, &reader, &format!("?userId={}", owner.id)).await;
    assert_eq!(actions(&by_owner), ["member.role_changed", "member.role_changed"]);
    let everyone = log(&app, &manager, "").await;
    assert_eq!(everyone.len(), 6);
    assert_eq!(log(&app, &manager, &format!("?userId={}", member.id)).await.len(), 4);
    app.get(LOG, &no_account_read).await.assert_error(403, "INSUFFICIENT_SCOPE");
    // Another team's owner sees none of it.
    let stranger = app.owner().await;
    let (_, theirs_only) = app.token(&stranger, &[Scope::AccountRead]).await;
    assert_eq!(actions(&log(&app, &theirs_only, "").await), ["token.created"]);
}

/// Waits for events written in the background to show up.
async fn eventually(app: &TestApp, query: AuditQuery, count: usize) -> Vec<sitegpt_store::AuditEvent> {
    for _ in 0..100 {
        let found = app.store().audit_events(query.clone()).await.expect("events");
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("fewer than {count} events for {query:?}");
}

#[tokio::test]
async fn refusals_for_an_address_are_logged_once_a_minute_per_token() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, manager) = app.token(&owner, &[Scope::AccountRead, Scope::TokensWrite]).await;
    let body = json!({"name": "office", "scopes": ["account:read"], "allowedIps": ["203.0.113.0/24"]});
    let created = app.post("/api/v2/tokens", &manager, body).await.assert_ok(201).clone();
    let secret = created["plaintextToken"].as_str().expect("secret");
    let id = created["token"]["id"].as_str().expect("id");
    for _ in 0..5 {
        app.get_from("/api/v2/account", secret, "198.51.100.20:1000", &[("user-agent", "scanner/1")])
            .await
            .assert_error(403, "IP_NOT_ALLOWED");
    }
    app.mcp_from(Some("198.51.100.21:1000"), Some(secret), "tools/list", json!({})).await;
    let query = AuditQuery {
        action: Some("token.address_refused".into()),
        ..AuditQuery::everything(&owner.account_id, &owner.id)
    };
    let found = eventually(&app, query.clone(), 1).await;
    // Give any extra writes time to land before counting them.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let found_after = app.store().audit_events(query).await.expect("events");
    assert_eq!(found_after.len(), 1, "six refusals within a minute are one event: {found_after:?}");
    let event = &found[0];
    assert_eq!(event.token_id.as_deref(), Some(id));
    assert_eq!(event.ip.as_deref(), Some("198.51.100.20"));
    assert_eq!(event.user_agent.as_deref(), Some("scanner/1"));
    // Requests from inside the list are no refusal.
    app.get_from("/api/v2/account", secret, "203.0.113.5:1000", &[]).await.assert_ok(200);
}

#[tokio::test]
async fn sign_ins_and_failed_sign_ins_are_the_person_s_own_events() {
    let app = TestApp::new().await;
    Browser::from_address(&app, "192.0.2.44:5000").sign_up("audited@example.com", "correct horse battery").await;
    let mut browser = Browser::from_address(&app, "192.0.2.44:5001");
    let csrf = browser.get("/login").await.csrf();
    let failed = browser
        .post("/login", &[("csrf", &csrf), ("email", "audited@example.com"), ("password", "wrong password")])
        .await;
    assert_eq!(failed.status.as_u16(), 401);
    // An address nobody uses writes nothing.
    let csrf = browser.get("/login").await.csrf();
    browser.post("/login", &[("csrf", &csrf), ("email", "nobody@example.com"), ("password", "wrong password")]).await;
    let user = app.store().user_by_email("audited@example.com").await.expect("read").expect("user");
    let (account, _) = app.store().memberships(&user.id).await.expect("memberships").remove(0);
    let mine = eventually(&app, AuditQuery::everything(&account.id, &user.id), 2).await;
    let kinds: Vec<&str> = mine.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(kinds, ["user.signed_in", "user.sign_in_failed"], "{mine:?}");
    assert!(mine.iter().all(|e| e.ip.as_deref() == Some("192.0.2.44") && e.account_id.is_none()));
    assert!(!format!("{mine:?}").contains("correct horse"), "no password in the log");
    // Nobody else in any team sees them.
    let other = app.member(&account.id, Role::Admin).await;
    let seen_by_admin = app.store().audit_events(AuditQuery::everything(&account.id, &other.id)).await.expect("events");
    assert!(seen_by_admin.iter().all(|e| !e.action.as_str().starts_with("user.")), "{seen_by_admin:?}");
}

#[tokio::test]
async fn the_janitor_purges_events_past_their_retention() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    app.token(&owner, &[Scope::AccountRead]).await;
    let all = AuditQuery::everything(&owner.account_id, &owner.id);
    assert_eq!(app.store().audit_events(all.clone()).await.expect("events").len(), 1);
    // The default keeps 400 days.
    sitegpt_server::app::tidy(&app.state, Utc::now() + Duration::days(399)).await;
    assert_eq!(app.store().audit_events(all.clone()).await.expect("events").len(), 1, "kept within 400 days");
    sitegpt_server::app::tidy(&app.state, Utc::now() + Duration::days(401)).await;
    assert!(app.store().audit_events(all).await.expect("events").is_empty(), "purged after 400 days");
}

/// Gives `user` a password, so a browser can sign in as them.
async fn with_password(app: &TestApp, user: &crate::helpers::TestUser, password: &str) {
    let hash = sitegpt_store::password::hash_password(password);
    app.store().set_password(&user.id, &hash, None, &sitegpt_store::Actor::system()).await.expect("password");
}

#[tokio::test]
async fn the_security_log_page_shows_the_team_s_events_filtered_and_the_token_page_its_history() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let member = app.member(&owner.account_id, Role::Member).await;
    with_password(&app, &owner, "owner password 1").await;
    with_password(&app, &member, "member password 1").await;
    let (_, manager) = app.token(&owner, &[Scope::AccountRead, Scope::TokensWrite]).await;
    let made = app.post("/api/v2/tokens", &manager, json!({"name": "release bot", "scopes": ["account:read"]})).await;
    let id = made.assert_ok(201)["token"]["id"].as_str().expect("id").to_owned();
    app.post_empty(&format!("/api/v2/tokens/{id}/revoke"), &manager).await.assert_ok(200);
    app.token(&member, &[Scope::AccountRead]).await;

    let mut browser = Browser::from_address(&app, "192.0.2.80:1000");
    browser.sign_in(&owner.email, "owner password 1").await;
    let page = browser.get("/dashboard/security").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    page.assert_contains(r#"<a href="/dashboard/security" aria-current="page">Security log</a>"#);
    for text in ["Token created", "Token revoked", "release bot", "Signed in", "192.0.2.80", &member.email] {
        page.assert_contains(text);
    }
    page.assert_contains(&format!(r#"href="/dashboard/agents/{id}""#));
    page.assert_contains(r#"<select name="userId">"#);

    let revoked = browser.get("/dashboard/security?action=token.revoked").await;
    revoked.assert_contains("Token revoked");
    assert!(!revoked.body.contains("Signed in</td>") && !revoked.body.contains(">Token created<"), "{}", revoked.body);
    revoked.assert_contains(r#"<option value="token.revoked" selected>"#);
    let by_token = browser.get(&format!("/dashboard/security?tokenId={id}&since=&until=")).await;
    assert_eq!(by_token.body.matches("<tr").count() - 1, 2, "created and revoked: {}", by_token.body);
    let bad = browser.get("/dashboard/security?action=token.exploded").await;
    assert_eq!(bad.status.as_u16(), 400);
    bad.assert_contains("action must be one of");
    let bad_date = browser.get("/dashboard/security?since=someday").await;
    assert_eq!(bad_date.status.as_u16(), 400);
    bad_date.assert_contains("since must be a date");

    // The token page shows the token's history.
    let token_page = browser.get(&format!("/dashboard/agents/{id}")).await;
    assert_eq!(token_page.status.as_u16(), 200, "{}", token_page.body);
    token_page.assert_contains(r#"<h2 id="history">History</h2>"#);
    token_page.assert_contains("Token revoked");
    token_page.assert_contains(&format!("/dashboard/security?tokenId={id}"));

    // A member sees their own events only, and no person filter.
    let mut theirs = Browser::from_address(&app, "192.0.2.81:1000");
    theirs.sign_in(&member.email, "member password 1").await;
    let own = theirs.get("/dashboard/security").await;
    assert_eq!(own.status.as_u16(), 200);
    own.assert_contains("192.0.2.81");
    assert!(!own.body.contains("release bot") && !own.body.contains("192.0.2.80"), "{}", own.body);
    assert!(!own.body.contains(r#"name="userId""#));
}

#[tokio::test]
async fn the_security_log_pages_through_older_events() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    with_password(&app, &owner, "owner password 1").await;
    let (token, _) = app.token(&owner, &[Scope::AccountRead]).await;
    let record = app.store().token(&token).await.expect("read").expect("token");
    for _ in 0..60 {
        let event = sitegpt_store::AuditEvent::token_refused(&record, &sitegpt_store::Actor::system(), Utc::now());
        app.store().record_event(event).await.expect("event");
    }
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, "owner password 1").await;
    let first = browser.get("/dashboard/security?action=token").await;
    assert_eq!(first.body.matches("<tr").count() - 1, 50);
    let start = first.body.find("/dashboard/security?action=token&amp;cursor=").expect("a link to older events");
    let link: String = first.body[start..].chars().take_while(|c| *c != '"').collect();
    let second = browser.get(&link.replace("&amp;", "&")).await;
    assert_eq!(second.status.as_u16(), 200, "{}", second.body);
    // 60 refusals and the token's creation: 11 on the second page, the last.
    assert_eq!(second.body.matches("<tr").count() - 1, 11);
    assert!(!second.body.contains("Older events"));
}

#[tokio::test]
async fn an_mcp_client_reads_the_log_through_its_tool() {
    let app = TestApp::new().await;
    let token = crate::mcp::oauth_token(&app, "mcp-audit@example.com", "http://api.test/mcp", &["account:read"]).await;
    let listed = app.call_tool(&token, "audit_events_list", json!({"action": "oauth_grant"})).await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.body);
    let result = &listed.body["result"];
    assert_eq!(result["isError"], false, "{result}");
    let items = result["structuredContent"]["items"].as_array().expect("items");
    assert_eq!(actions(items), ["oauth_grant.created"], "{result}");
    assert_eq!(items[0]["actor"]["email"], "mcp-audit@example.com");
    // The app's first token is logged as made through OAuth, by the person who approved it.
    let made = app.call_tool(&token, "audit_events_list", json!({"action": "token.created"})).await;
    let made = &made.body["result"]["structuredContent"]["items"][0];
    assert_eq!((&made["details"]["via"], &made["actor"]["email"]), (&json!("oauth"), &json!("mcp-audit@example.com")));
}
