//! Creating, rotating and revoking tokens through the Agents page's forms:
//! the API's rules and messages, one-time secrets, CSRF.

use sitegpt_access::{AccessLevel, Role, Scope};

use crate::agents::{PASSWORD, signed_in};
use crate::helpers::{Browser, TestApp, contains};

#[tokio::test]
async fn a_created_token_is_shown_once_works_and_a_resent_form_makes_no_second_one() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "create@example.com").await;
    let bot = app.chatbot(&user.account_id).await;
    let other_bot = app.chatbot(&user.account_id).await;
    let start = browser.get("/dashboard").await;
    assert_eq!((start.status.as_u16(), start.location()), (303, "/dashboard/agents"));
    let form = browser.get("/dashboard/agents/new").await;
    assert_eq!(form.status.as_u16(), 200);
    form.assert_contains("Create token");
    let policy = form.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    let (csrf, once) = (form.csrf(), form.field("once"));
    let fields = [
        ("csrf", csrf.as_str()),
        ("once", once.as_str()),
        ("name", "Docs agent"),
        ("access", "custom"),
        ("scope", "chatbots:read"),
        ("scope", "knowledge:read"),
        ("chatbot", bot.as_str()),
        ("expiry", "days"),
        ("days", "90"),
    ];
    let created = browser.post("/dashboard/agents", &fields).await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.body);
    assert_eq!(created.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    created.assert_contains("Copy this token now.");
    let secret = created.plaintext();

    let me = app.get(&format!("/api/v2/chatbots/{bot}"), &secret).await;
    me.assert_ok(200);
    app.get(&format!("/api/v2/chatbots/{other_bot}"), &secret).await.assert_error(404, "NOT_FOUND");
    app.get("/api/v2/account", &secret).await.assert_error(403, "INSUFFICIENT_SCOPE");
    let stored = app.tokens_of(&user.account_id).await;
    let stored: Vec<_> = stored.into_iter().filter(|t| t.name == "Docs agent").collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].created_via.as_str(), "dashboard");
    assert_eq!(stored[0].scopes.to_space_separated(), "chatbots:read knowledge:read");
    assert_eq!(stored[0].chatbots.ids(), std::slice::from_ref(&bot));

    // The same form again (a reload): no secret, no second token.
    let again = browser.post("/dashboard/agents", &fields).await;
    assert_eq!(again.status.as_u16(), 409);
    again.assert_contains("This form was already sent");
    assert!(!again.body.contains("sgpt_"), "a resent form shows no secret");
    let names: Vec<_> = app.tokens_of(&user.account_id).await.into_iter().map(|t| t.name).collect();
    assert_eq!(names.iter().filter(|n| *n == "Docs agent").count(), 1);

    // The list never shows the secret.
    let list = browser.get("/dashboard/agents").await;
    list.assert_contains("Docs agent");
    assert!(!list.body.contains(&secret));
    assert!(!contains(&app.database_bytes().await, &secret), "the secret is in the database");
    assert!(!crate::helpers::captured_logs().contains(&secret), "the secret is in the log");
}

#[tokio::test]
async fn standard_and_full_grant_their_levels_and_expiry_takes_days_or_a_date() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "levels@example.com").await;
    for (name, access, extra) in [
        ("Standard one", "standard", ("days", "7")),
        ("Full one", "full", ("date", "2099-01-01")),
        ("Dated one", "standard", ("date", "")),
    ] {
        let form = browser.get("/dashboard/agents/new").await;
        let (csrf, once) = (form.csrf(), form.field("once"));
        let expiry = if extra.0 == "date" { "date" } else { "days" };
        let mut pairs = vec![("csrf", csrf.as_str()), ("once", once.as_str()), ("name", name), ("access", access)];
        pairs.push(("expiry", expiry));
        let in_a_month = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
        match extra {
            ("date", "") => pairs.push(("date", &in_a_month)),
            other => pairs.push(other),
        }
        let page = browser.post("/dashboard/agents", &pairs).await;
        match name {
            "Full one" => {
                assert_eq!(page.status.as_u16(), 400, "{}", page.body);
                page.assert_contains("The expiry date must be at most 365 days from now.");
            }
            _ => assert_eq!(page.status.as_u16(), 200, "{name}: {}", page.body),
        }
    }
    let tokens = app.tokens_of(&user.account_id).await;
    let standard = tokens.iter().find(|t| t.name == "Standard one").expect("standard");
    assert_eq!(standard.scopes, AccessLevel::Standard.scopes());
    let days = (standard.expires_at - standard.created_at).num_days();
    assert_eq!(days, 7);
    let dated = tokens.iter().find(|t| t.name == "Dated one").expect("dated");
    assert_eq!(dated.expires_at.format("%H:%M:%S").to_string(), "00:00:00");
    assert_eq!((dated.expires_at - dated.created_at).num_days(), 29);
}

/// Form fields, the status they get, and a message on the page.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn bad_forms_get_the_apis_messages_and_store_nothing() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "invalid@example.com").await;
    let stranger = app.owner().await;
    let foreign_bot = app.chatbot(&stranger.account_id).await;
    let form = browser.get("/dashboard/agents/new").await;
    let (csrf, once) = (form.csrf(), form.field("once"));
    let cases: Vec<Case<'_>> = vec![
        (vec![("name", ""), ("access", "standard"), ("expiry", "days"), ("days", "0")], 400, "Name must not be empty."),
        (
            vec![("name", "x"), ("access", "standard"), ("expiry", "days"), ("days", "0")],
            400,
            "The number of days must be between 1 and 365.",
        ),
        (
            vec![("name", "x"), ("access", "standard"), ("expiry", "days"), ("days", "ninety")],
            400,
            "Enter a number of days from 1 to 365.",
        ),
        (
            vec![("name", "x"), ("access", "standard"), ("expiry", "date"), ("date", "tomorrow")],
            400,
            "Enter the expiry date as YYYY-MM-DD.",
        ),
        (
            vec![("name", "x"), ("access", "standard"), ("expiry", "date"), ("date", "2001-01-01")],
            400,
            "The expiry date must be in the future.",
        ),
        (
            vec![("name", "x"), ("access", "custom"), ("expiry", "days"), ("days", "9")],
            400,
            "Scopes must name at least one scope.",
        ),
        (
            vec![
                ("name", "x"),
                ("access", "standard"),
                ("expiry", "days"),
                ("days", "9"),
                ("allowed_ips", "10.0.0.0/33"),
            ],
            400,
            "`10.0.0.0/33` is not an IPv4 or IPv6 address or CIDR block",
        ),
        (
            vec![("name", "x"), ("access", "custom"), ("scope", "admin:all"), ("expiry", "days"), ("days", "9")],
            400,
            "valid scopes are",
        ),
        (
            vec![("name", "x"), ("access", "sudo"), ("expiry", "days"), ("days", "9")],
            400,
            "Choose Standard, Full or Custom access.",
        ),
        (
            vec![("name", "x"), ("access", "standard"), ("chatbot", &foreign_bot), ("expiry", "days"), ("days", "9")],
            400,
            "in this account",
        ),
    ];
    for (fields, status, message) in cases {
        let mut pairs = vec![("csrf", csrf.as_str()), ("once", once.as_str())];
        pairs.extend(fields.iter().copied());
        let page = browser.post("/dashboard/agents", &pairs).await;
        assert_eq!(page.status.as_u16(), status, "{fields:?}: {}", page.body);
        page.assert_contains(message);
        page.assert_contains("Create token");
    }
    // CSRF: missing or wrong, and a post from another site.
    let pairs = [("csrf", "wrong"), ("once", once.as_str()), ("name", "x"), ("access", "standard")];
    assert_eq!(browser.post("/dashboard/agents", &pairs).await.status.as_u16(), 403);
    assert_eq!(browser.post("/dashboard/agents", &pairs[1..]).await.status.as_u16(), 403);
    assert_eq!(app.tokens_of(&user.account_id).await.len(), 0, "nothing was stored");
    // The same, once valid, works with that key.
    let ok = [
        ("csrf", csrf.as_str()),
        ("once", once.as_str()),
        ("name", "x"),
        ("access", "standard"),
        ("expiry", "days"),
        ("days", "9"),
    ];
    assert_eq!(browser.post("/dashboard/agents", &ok).await.status.as_u16(), 200);
}

#[tokio::test]
async fn roles_bound_what_the_form_grants() {
    let app = TestApp::new().await;
    let (mut owner_browser, owner) = signed_in(&app, "boss@example.com").await;
    let (mut browser, viewer) = signed_in(&app, "viewer@example.com").await;
    app.store().add_member(&owner.account_id, &viewer.id, Role::Viewer, chrono::Utc::now()).await.expect("join");
    let here = format!("/dashboard/agents/new?account={}", owner.account_id);
    let form = browser.get(&here).await;
    form.assert_contains(r#"value="knowledge:write" disabled"#);
    form.assert_contains(r#"value="standard" id="access-standard" disabled"#);
    form.assert_contains(r#"value="tokens:write">"#);
    let (csrf, once) = (form.csrf(), form.field("once"));
    let try_with = |access: &'static str, scope: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("once", once.clone()),
            ("account", owner.account_id.clone()),
            ("name", "mine".to_owned()),
            ("access", access.to_owned()),
            ("scope", scope.to_owned()),
            ("expiry", "days".to_owned()),
            ("days", "30".to_owned()),
        ]
    };
    for (access, scope, message) in [
        ("custom", "knowledge:write", "You may not grant knowledge:write."),
        ("standard", "", "You may not grant"),
        ("full", "", "billing:write"),
    ] {
        let pairs = try_with(access, scope);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.post("/dashboard/agents", &pairs).await;
        assert_eq!(page.status.as_u16(), 403, "{access} {scope}: {}", page.body);
        page.assert_contains(message);
        page.assert_contains("Your role in boss@example.com's team is viewer.");
    }
    let pairs = try_with("custom", "knowledge:read");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post("/dashboard/agents", &pairs).await.status.as_u16(), 200);

    // The owner's form offers everything.
    let owner_form = owner_browser.get("/dashboard/agents/new").await;
    assert!(!owner_form.body.contains(" disabled"), "an owner may grant every scope");
}

#[tokio::test]
async fn rotate_and_revoke_confirm_first_and_follow_the_apis_rules() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "rotor@example.com").await;
    let (id, secret) = app.token(&user, &[Scope::AccountRead, Scope::TokensRead]).await;
    let confirm = browser.get(&format!("/dashboard/agents/{id}/rotate")).await;
    assert_eq!(confirm.status.as_u16(), 200);
    confirm.assert_contains("Rotate this token?");
    let (csrf, once) = (confirm.csrf(), confirm.field("once"));
    let rotated = browser.post(&format!("/dashboard/agents/{id}/rotate"), &[("csrf", &csrf), ("once", &once)]).await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.body);
    rotated.assert_contains("Token rotated");
    let new_secret = rotated.plaintext();
    app.get("/api/v2/account", &secret).await.assert_error(401, "UNAUTHENTICATED");
    app.get("/api/v2/account", &new_secret).await.assert_ok(200);
    // Sending the confirmation again does not rotate twice.
    let again = browser.post(&format!("/dashboard/agents/{id}/rotate"), &[("csrf", &csrf), ("once", &once)]).await;
    assert_eq!(again.status.as_u16(), 409);
    app.get("/api/v2/account", &new_secret).await.assert_ok(200);

    // Revoke.
    let confirm = browser.get(&format!("/dashboard/agents/{id}/revoke")).await;
    confirm.assert_contains("Revoke this token?");
    let done = browser.post(&format!("/dashboard/agents/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!((done.status.as_u16(), done.location()), (303, "/dashboard/agents?done=revoked"));
    app.get("/api/v2/account", &new_secret).await.assert_error(401, "TOKEN_REVOKED");
    browser.get(done.location()).await.assert_contains("Token revoked.");
    // A revoked token cannot be rotated.
    let page = browser.post(&format!("/dashboard/agents/{id}/rotate"), &[("csrf", &csrf), ("once", &once)]).await;
    assert_eq!(page.status.as_u16(), 409);
    page.assert_contains("A revoked token cannot be rotated.");
    // Without the form's csrf nothing happens.
    let (id2, secret2) = app.token(&user, &[Scope::AccountRead]).await;
    let refused = browser.post(&format!("/dashboard/agents/{id2}/revoke"), &[("csrf", "nope")]).await;
    assert_eq!(refused.status.as_u16(), 403);
    app.get("/api/v2/account", &secret2).await.assert_ok(200);
    assert_eq!(browser.get(&format!("/dashboard/agents/{id2}/explode")).await.status.as_u16(), 404);
}

#[tokio::test]
async fn managers_revoke_others_tokens_but_rotate_only_their_own() {
    let app = TestApp::new().await;
    let (mut owner_browser, owner) = signed_in(&app, "owner@example.com").await;
    let (mut member_browser, member) = signed_in(&app, "member@example.com").await;
    app.store().add_member(&owner.account_id, &member.id, Role::Member, chrono::Utc::now()).await.expect("join");
    let in_team = crate::helpers::TestUser { account_id: owner.account_id.clone(), ..member.clone() };
    let (member_token, member_secret) = app.token(&in_team, &[Scope::AccountRead]).await;
    let (owner_token, owner_secret) = app.token(&owner, &[Scope::AccountRead]).await;

    assert_eq!(owner_browser.get(&format!("/dashboard/agents/{member_token}/rotate")).await.status.as_u16(), 404);
    let confirm = owner_browser.get(&format!("/dashboard/agents/{member_token}/revoke")).await;
    assert_eq!(confirm.status.as_u16(), 200);
    let done =
        owner_browser.post(&format!("/dashboard/agents/{member_token}/revoke"), &[("csrf", &confirm.csrf())]).await;
    assert_eq!(done.status.as_u16(), 303);
    app.get("/api/v2/account", &member_secret).await.assert_error(401, "TOKEN_REVOKED");

    // A member cannot touch the owner's token, nor see that it exists.
    let csrf = member_browser.get("/dashboard/agents").await.csrf();
    for action in ["rotate", "revoke"] {
        let path = format!("/dashboard/agents/{owner_token}/{action}");
        assert_eq!(member_browser.get(&path).await.status.as_u16(), 404);
        assert_eq!(
            member_browser.post(&path, &[("csrf", &csrf), ("once", &"k".repeat(43))]).await.status.as_u16(),
            404
        );
    }
    app.get("/api/v2/account", &owner_secret).await.assert_ok(200);
}

#[tokio::test]
async fn unverified_people_are_asked_to_verify_before_getting_a_secret() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    browser.sign_up("later@example.com", PASSWORD).await;
    let page = browser.get("/dashboard/agents/new").await;
    assert_eq!(page.status.as_u16(), 403);
    page.assert_contains("Verify your e-mail first");
    let csrf = page.csrf();
    let refused = browser.post("/dashboard/agents", &[("csrf", &csrf), ("name", "x"), ("access", "standard")]).await;
    assert_eq!(refused.status.as_u16(), 403);
    refused.assert_contains("Verify your e-mail first");
}

#[tokio::test]
async fn a_demoted_person_cannot_rotate_a_token_beyond_their_new_role() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "demoted@example.com").await;
    let (id, secret) = app.token(&user, &[Scope::AccountRead, Scope::KnowledgeWrite]).await;
    // A second owner, so the first may be demoted.
    app.member(&user.account_id, Role::Owner).await;
    app.store()
        .set_role(&user.account_id, &user.id, Role::Viewer, &sitegpt_store::Actor::system())
        .await
        .expect("demote");
    let confirm = browser.get(&format!("/dashboard/agents/{id}/rotate")).await;
    let (csrf, once) = (confirm.csrf(), confirm.field("once"));
    let page = browser.post(&format!("/dashboard/agents/{id}/rotate"), &[("csrf", &csrf), ("once", &once)]).await;
    assert_eq!(page.status.as_u16(), 403, "{}", page.body);
    page.assert_contains("You may not grant knowledge:write.");
    page.assert_contains("is now viewer");
    assert!(!page.body.contains("sgpt_"));
    // The old secret still works for what the role allows.
    app.get("/api/v2/account", &secret).await.assert_ok(200);
}

#[tokio::test]
async fn the_form_limits_a_token_to_the_addresses_typed() {
    let app = TestApp::new().await;
    let (mut browser, user) = signed_in(&app, "office@example.com").await;
    let form = browser.get("/dashboard/agents/new").await;
    form.assert_contains("Allowed addresses");
    let fields = [
        ("csrf", form.csrf()),
        ("once", form.field("once")),
        ("name", "Office script".to_owned()),
        ("access", "standard".to_owned()),
        ("expiry", "days".to_owned()),
        ("days", "30".to_owned()),
        ("allowed_ips", "203.0.113.0/24, 2001:db8::/32\n".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = browser.post("/dashboard/agents", &pairs).await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.body);
    let secret = created.plaintext();
    let stored = app.tokens_of(&user.account_id).await.into_iter().find(|t| t.name == "Office script").expect("token");
    assert_eq!(stored.allowed_ips.to_stored(), "203.0.113.0/24 2001:db8::/32");
    app.get_from("/api/v2/account", &secret, "203.0.113.77:1", &[]).await.assert_ok(200);
    app.get_from("/api/v2/account", &secret, "198.51.100.1:1", &[]).await.assert_error(403, "IP_NOT_ALLOWED");
    // Its page lists the ranges and, once used, where from.
    let page = browser.get(&format!("/dashboard/agents/{}", stored.id)).await;
    page.assert_contains("<code>203.0.113.0/24</code>, <code>2001:db8::/32</code>");
    browser.get("/dashboard/agents").await.assert_contains("only from 203.0.113.0/24 +1");
}
