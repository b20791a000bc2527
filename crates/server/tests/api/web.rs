//! The pages over HTTP: sign-up, e-mail verification, sign-in, sign-out,
//! CSRF, rate limits, and the device approval page.

use chrono::Utc;
use serde_json::Value;
use sitegpt_access::Role;

use crate::helpers::{Browser, TestApp, captured_logs, contains};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PASSWORD: &str = "correct horse battery";

pub async fn start_device(app: &TestApp, scope: Option<&str>) -> Value {
    let mut pairs = vec![("client_id", "sitegpt-cli")];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    app.form("/oauth/device_authorization", &pairs, None).await.body
}

pub async fn poll(app: &TestApp, device_code: &str) -> crate::helpers::TestResponse {
    app.form("/oauth/token", &[("grant_type", GRANT), ("client_id", "sitegpt-cli"), ("device_code", device_code)], None)
        .await
}

/// A signed-in browser of a verified new owner.
pub async fn verified_owner<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let link = browser.sign_up(email, PASSWORD).await;
    browser.open_link(&link).await.assert_contains("Your e-mail is verified");
    browser
}

#[tokio::test]
async fn sign_up_verify_and_sign_out() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/signup").await;
    assert_eq!(form.status.as_u16(), 200);
    for label in
        ["<label for=\"field-email\">Email</label>", "<label for=\"field-password\">Password</label>", "Create account"]
    {
        form.assert_contains(label);
    }
    let link = browser.sign_up("New.Person@Example.com", PASSWORD).await;
    let session_cookie =
        browser.set_cookie_headers.iter().find(|c| c.starts_with("sitegpt_session=")).expect("session").clone();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(!session_cookie.contains("Secure"), "plain http public URL");
    let session_id = browser.cookies["sitegpt_session"].clone();

    let home = browser.get("/").await;
    home.assert_contains("new.person@example.com");
    home.assert_contains("Verify your e-mail address");
    let user = app.store().user_by_email("new.person@example.com").await.expect("q").expect("user");
    assert!(user.email_verified_at.is_none());
    assert!(user.password_hash.starts_with("$argon2id$"));

    let verified = browser.open_link(&link).await;
    assert_eq!(verified.status.as_u16(), 200);
    verified.assert_contains("Your e-mail is verified");
    assert!(!browser.get("/").await.body.contains("Verify your e-mail address"));
    // Opened again by a verified person: nothing to do, and it says so.
    let again = browser.open_link(&link).await;
    assert_eq!(again.status.as_u16(), 200);
    again.assert_contains("Already verified");
    assert_eq!(browser.get("/verify-email?token=nonsense").await.status.as_u16(), 404);

    // Sign out needs the session's CSRF token.
    let home = browser.get("/").await;
    assert_eq!(browser.post("/logout", &[("csrf", "wrong")]).await.status.as_u16(), 403);
    let out = browser.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!((out.status.as_u16(), out.location()), (303, "/login"));
    assert!(!browser.cookies.contains_key("sitegpt_session"));
    // The old session id is dead on the server too.
    browser.cookies.insert("sitegpt_session".into(), session_id.clone());
    browser.get("/").await.assert_contains("Create account");

    // Neither the password nor the session id is stored or logged.
    let database = app.database_bytes().await;
    assert!(!contains(&database, PASSWORD) && !contains(&database, &session_id));
    let logs = captured_logs();
    assert!(!logs.contains(PASSWORD) && !logs.contains(&session_id));
}

#[tokio::test]
async fn sign_up_validates_and_refuses_duplicates() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/signup").await.csrf();
    let bad = browser
        .post("/signup", &[("csrf", &csrf), ("email", "not-an-email"), ("password", "short"), ("team", "")])
        .await;
    assert_eq!(bad.status.as_u16(), 400);
    bad.assert_contains("Enter an e-mail address");
    bad.assert_contains("at least 8 characters");
    bad.assert_contains("aria-invalid=\"true\"");
    assert_eq!(app.store().count_users().await.expect("count"), 0);

    let link = browser.sign_up("taken@example.com", PASSWORD).await;
    browser.open_link(&link).await.assert_contains("Your e-mail is verified");
    let mut other = Browser::new(&app);
    let csrf = other.get("/signup").await.csrf();
    let fresh = other
        .post("/signup", &[("csrf", &csrf), ("email", "fresh@example.com"), ("password", PASSWORD), ("team", "")])
        .await;
    let dup = other
        .post(
            "/signup",
            &[("csrf", &csrf), ("email", "Taken@Example.com"), ("password", "another password"), ("team", "")],
        )
        .await;
    // The same answer whether or not the address has an account: nothing
    // tells a stranger who is a user.
    assert_eq!((fresh.status.as_u16(), dup.status.as_u16()), (200, 200));
    let strip = |page: &str, email: &str| page.replace(email, "EMAIL");
    assert_eq!(strip(&fresh.body, "fresh@example.com"), strip(&dup.body, "taken@example.com"));
    assert!(!dup.body.contains("already"), "{}", dup.body);
    assert!(!other.cookies.contains_key("sitegpt_session"), "no session before the address is proven");
    // The owner of the address hears of it, with a way in; the account is untouched.
    let outbox = app.outbox().await;
    let notice = outbox.iter().rev().find(|m| m.contains("To: taken@example.com")).expect("a notice");
    assert!(notice.contains("Subject: Someone tried to create a SiteGPT account with your address"), "{notice}");
    assert!(notice.contains("/login") && !notice.contains("verify-email"), "{notice}");
    assert_eq!(app.store().count_users().await.expect("count"), 2);
    let mut owner = Browser::new(&app);
    owner.sign_in("taken@example.com", PASSWORD).await;

    // An address that was never verified gets a new link instead, so
    // signing up again is how a lost link is resent.
    let mut third = Browser::new(&app);
    let csrf = third.get("/signup").await.csrf();
    let resend = third
        .post("/signup", &[("csrf", &csrf), ("email", "fresh@example.com"), ("password", PASSWORD), ("team", "")])
        .await;
    assert_eq!(strip(&resend.body, "fresh@example.com"), strip(&fresh.body, "fresh@example.com"));
    let links: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.contains("To: fresh@example.com") && m.contains("/verify-email?token="))
        .collect();
    assert_eq!(links.len(), 2, "a second verification link");
    assert_eq!(app.store().count_users().await.expect("count"), 2);
}

#[tokio::test]
async fn forms_without_a_matching_csrf_token_are_refused() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let no_cookie = browser.post("/signup", &[("csrf", "x"), ("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(no_cookie.status.as_u16(), 403);
    no_cookie.assert_contains("This form has expired");
    browser.get("/login").await;
    let mismatch =
        browser.post("/login", &[("csrf", "not-the-cookie"), ("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(mismatch.status.as_u16(), 403);
    // A matching token from another site's page is still refused by Origin.
    let csrf = browser.get("/login").await.csrf();
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", csrf.as_str()), ("email", "a@example.com"), ("password", PASSWORD)])
        .finish();
    let request = axum::http::Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("cookie", cookie)
        .body(axum::body::Body::from(body))
        .expect("request");
    assert_eq!(app.send_text(request).await.0.as_u16(), 403);
    assert_eq!(app.store().count_users().await.expect("count"), 0);
}

#[tokio::test]
async fn sign_in_checks_passwords_and_is_rate_limited() {
    let app = TestApp::new().await;
    Browser::new(&app).sign_up("member@example.com", PASSWORD).await;
    let mut browser = Browser::from_address(&app, "10.1.2.3:5000");
    let csrf = browser.get("/login?next=/device").await.csrf();
    let wrong =
        browser.post("/login", &[("csrf", &csrf), ("email", "member@example.com"), ("password", "nope nope")]).await;
    assert_eq!(wrong.status.as_u16(), 401);
    wrong.assert_contains("Incorrect e-mail or password.");
    let unknown =
        browser.post("/login", &[("csrf", &csrf), ("email", "ghost@example.com"), ("password", "nope nope")]).await;
    assert_eq!(unknown.status.as_u16(), 401);
    unknown.assert_contains("Incorrect e-mail or password.");
    let ok = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("email", "MEMBER@example.com"), ("password", PASSWORD), ("next", "/device")],
        )
        .await;
    assert_eq!((ok.status.as_u16(), ok.location()), (303, "/device"));
    let offsite = Browser::new(&app)
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "member@example.com"),
                ("password", PASSWORD),
                ("next", "https://evil.example"),
            ],
        )
        .await;
    assert_ne!(offsite.location(), "https://evil.example");

    let mut attacker = Browser::from_address(&app, "10.9.9.9:5000");
    let csrf = attacker.get("/login").await.csrf();
    for i in 0..10 {
        let email = format!("guess{i}@example.com");
        let page = attacker.post("/login", &[("csrf", &csrf), ("email", &email), ("password", "guess guess")]).await;
        assert_eq!(page.status.as_u16(), 401);
    }
    let limited =
        attacker.post("/login", &[("csrf", &csrf), ("email", "member@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(limited.status.as_u16(), 429);
    assert!(limited.headers.get("retry-after").is_some());
    limited.assert_contains("Too many attempts");

    // Failures against one account from many addresses cannot lock its
    // owner out: past the account's limit, only addresses that have failed
    // for it wait; the right password from a new address still signs in.
    for i in 0..11 {
        let mut spray = Browser::from_address(&app, &format!("10.7.7.{i}:5000"));
        let csrf = spray.get("/login").await.csrf();
        let page = spray
            .post("/login", &[("csrf", &csrf), ("email", "member@example.com"), ("password", "guess guess")])
            .await;
        assert_eq!(page.status.as_u16(), 401, "attempt {i}");
    }
    let mut sprayer = Browser::from_address(&app, "10.7.7.0:5001");
    let csrf = sprayer.get("/login").await.csrf();
    let again =
        sprayer.post("/login", &[("csrf", &csrf), ("email", "member@example.com"), ("password", "guess again")]).await;
    assert_eq!(again.status.as_u16(), 429, "an address that failed for the account waits");
    let mut owner = Browser::from_address(&app, "10.8.8.8:5000");
    let csrf = owner.get("/login").await.csrf();
    let page = owner.post("/login", &[("csrf", &csrf), ("email", "member@example.com"), ("password", PASSWORD)]).await;
    assert_eq!((page.status.as_u16(), page.location()), (303, "/dashboard"), "{}", page.body);
    // One address may fail for one account only a few times, whatever the
    // other accounts it tries.
    let mut pair = Browser::from_address(&app, "10.6.6.6:5000");
    let csrf = pair.get("/login").await.csrf();
    let max = sitegpt_server::ratelimit::LOGIN_ADDRESS_ACCOUNT.max;
    for _ in 0..max {
        let page =
            pair.post("/login", &[("csrf", &csrf), ("email", "pair@example.com"), ("password", "x y z w")]).await;
        assert_eq!(page.status.as_u16(), 401);
    }
    let page = pair.post("/login", &[("csrf", &csrf), ("email", "pair@example.com"), ("password", "x y z w")]).await;
    assert_eq!(page.status.as_u16(), 429);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let app = TestApp::new().await;
    let limit = sitegpt_server::ratelimit::SIGNUP_ADDRESS.max;
    let mut browser = Browser::from_address(&app, "10.4.4.4:5000");
    let csrf = browser.get("/signup").await.csrf();
    // Invalid forms cost nothing and are not counted.
    for _ in 0..3 {
        let bad = browser.post("/signup", &[("csrf", &csrf), ("email", "x"), ("password", "short")]).await;
        assert_eq!(bad.status.as_u16(), 400);
    }
    for i in 0..limit {
        let email = format!("flood{i}@example.com");
        let done = browser.post("/signup", &[("csrf", &csrf), ("email", &email), ("password", PASSWORD)]).await;
        assert_eq!(done.status.as_u16(), 200, "sign-up {i}: {}", done.body);
    }
    let mails = app.outbox().await.len();
    let limited =
        browser.post("/signup", &[("csrf", &csrf), ("email", "one-more@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(limited.status.as_u16(), 429);
    let wait: u64 = limited.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(wait >= 1);
    limited.assert_contains("Too many attempts");
    assert_eq!(app.store().count_users().await.expect("count"), u64::from(limit));
    assert!(app.store().user_by_email("one-more@example.com").await.expect("q").is_none());
    assert_eq!(app.outbox().await.len(), mails, "no mail for a refused sign-up");
    // Another address is not affected.
    Browser::from_address(&app, "10.5.5.5:5000").sign_up("elsewhere@example.com", PASSWORD).await;
}

#[tokio::test]
async fn posts_from_an_opaque_origin_are_refused() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/signup").await.csrf();
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", csrf.as_str()), ("email", "null@example.com"), ("password", PASSWORD)])
        .finish();
    for path in ["/signup", "/login"] {
        let request = axum::http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "null")
            .header("cookie", &cookie)
            .body(axum::body::Body::from(body.clone()))
            .expect("request");
        let (status, _, page) = app.send_text(request).await;
        assert_eq!(status.as_u16(), 403, "{path}: {page}");
    }
    assert_eq!(app.store().count_users().await.expect("count"), 0);
    assert!(app.outbox().await.is_empty());
}

/// `next` values that cannot be a `Location` header, or that a browser
/// would resolve to another site, all go to the dashboard; none is a 500,
/// and sign-up still creates exactly one account and one mail.
#[tokio::test]
async fn hostile_next_targets_go_to_the_dashboard() {
    let app = TestApp::new().await;
    let hostile = [
        "/ok\nLocation: https://evil.example",
        "/\t/evil.example/x",
        "/%09/evil.example/x",
        "/%0d%0a/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/%2F/evil.example",
        "/%252F%252Fevil.example",
        "https://evil.example",
    ];
    for (i, next) in hostile.iter().enumerate() {
        let mut browser = Browser::from_address(&app, &format!("10.2.0.{i}:5000"));
        let csrf = browser.get(&format!("/signup?next={}", urlencode(next))).await.csrf();
        let email = format!("next{i}@example.com");
        let signed_up = browser
            .post("/signup", &[("csrf", &csrf), ("email", &email), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!(signed_up.status.as_u16(), 200, "sign-up, {next:?}");
        signed_up.assert_contains("href=\"/login?next=%2Fdashboard\"");
        let mut other = Browser::from_address(&app, &format!("10.2.1.{i}:5000"));
        let csrf = other.get("/login").await.csrf();
        let signed_in =
            other.post("/login", &[("csrf", &csrf), ("email", &email), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!((signed_in.status.as_u16(), signed_in.location()), (303, "/dashboard"), "sign-in, {next:?}");
        let again = other.get(&format!("/login?next={}", urlencode(next))).await;
        assert_eq!((again.status.as_u16(), again.location()), (303, "/dashboard"), "signed-in GET, {next:?}");
    }
    assert_eq!(app.store().count_users().await.expect("count"), hostile.len() as u64);
    assert_eq!(app.outbox().await.len(), hostile.len());
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn approval_page_requires_a_verified_sign_in() {
    let app = TestApp::new().await;
    let started = start_device(&app, None).await;
    let code = started["user_code"].as_str().expect("code");
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get(&format!("/device?user_code={code}")).await;
    assert_eq!(page.status.as_u16(), 303);
    assert!(page.location().starts_with("/login?next=%2Fdevice%3Fuser_code%3D"), "{}", page.location());

    let mut unverified = Browser::new(&app);
    unverified.sign_up("later@example.com", PASSWORD).await;
    let page = unverified.get(&format!("/device?user_code={code}")).await;
    assert_eq!(page.status.as_u16(), 403);
    page.assert_contains("Verify your e-mail first");
}

#[tokio::test]
async fn a_person_approves_a_device_and_the_device_gets_its_token() {
    let app = TestApp::new().await;
    let mut browser = verified_owner(&app, "owner@example.com").await;
    let started = start_device(&app, Some("account:read chatbots:read knowledge:write")).await;
    let code = started["user_code"].as_str().expect("code");
    let device_code = started["device_code"].as_str().expect("device code");

    let entry = browser.get("/device").await;
    assert_eq!(entry.status.as_u16(), 200);
    entry.assert_contains("<label for=\"user_code\">Code</label>");
    // Entry ignores case and dashes.
    let typed = code.replace('-', "").to_lowercase();
    let review = browser.get(&format!("/device?user_code={typed}")).await;
    assert_eq!(review.status.as_u16(), 200, "{}", review.body);
    review.assert_contains("Allow SiteGPT CLI to access SiteGPT?");
    review.assert_contains(code);
    review.assert_contains("Knowledge");
    review.assert_contains("Create and change chatbot knowledge sources");
    review.assert_contains("All chatbots of the team");
    // One line first; every scope behind a disclosure; the team and when the token would expire.
    review.assert_contains("Custom access: 3 scopes on Account, Chatbots and Knowledge.");
    review.assert_contains("Every scope it asks for (3)");
    review.assert_contains("owner@example.com's team (your role: owner)");
    let expires = (Utc::now() + chrono::Duration::days(90)).format("%Y-%m-%d").to_string();
    review.assert_contains(&format!("90 days after you approve ({expires})"));
    review.assert_contains("SiteGPT CLI on ");
    assert!(!review.body.contains("disabled"), "nothing refused for an owner");

    assert_eq!(poll(&app, device_code).await.body["error"], "authorization_pending");
    let csrf = review.csrf();
    let account_id = app
        .store()
        .memberships(&app.store().user_by_email("owner@example.com").await.expect("q").expect("u").id)
        .await
        .expect("m")[0]
        .0
        .id
        .clone();
    let done = browser
        .post(
            "/device",
            &[("csrf", &csrf), ("user_code", &typed), ("account_id", &account_id), ("decision", "approve")],
        )
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    done.assert_contains("Access approved");

    let issued = poll(&app, device_code).await;
    assert_eq!(issued.status.as_u16(), 200, "{}", issued.body);
    let token = issued.body["access_token"].as_str().expect("token");
    let me = app.get("/api/v2/account", token).await;
    assert_eq!(me.assert_ok(200)["user"]["email"], "owner@example.com");
    assert_eq!(
        me.body["data"]["token"]["scopes"],
        serde_json::json!(["account:read", "chatbots:read", "knowledge:write"])
    );

    // The code is spent.
    let reused = browser.get(&format!("/device?user_code={code}")).await;
    assert_eq!(reused.status.as_u16(), 410);
    reused.assert_contains("already used");
}

#[tokio::test]
async fn denying_gives_the_device_access_denied() {
    let app = TestApp::new().await;
    let mut browser = verified_owner(&app, "denier@example.com").await;
    let started = start_device(&app, None).await;
    let code = started["user_code"].as_str().expect("code");
    let review = browser.get(&format!("/device?user_code={code}")).await;
    let account_id = review
        .body
        .split("name=\"account_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("account")
        .to_owned();
    let done = browser
        .post(
            "/device",
            &[("csrf", &review.csrf()), ("user_code", code), ("account_id", &account_id), ("decision", "deny")],
        )
        .await;
    done.assert_contains("Access denied");
    assert_eq!(poll(&app, started["device_code"].as_str().expect("dc")).await.body["error"], "access_denied");
}

#[tokio::test]
async fn the_approval_page_names_the_chatbots_and_opens_the_scope_list_when_something_is_refused() {
    let app = TestApp::new().await;
    let mut browser = verified_owner(&app, "names@example.com").await;
    let owner = app.store().user_by_email("names@example.com").await.expect("q").expect("u");
    let account_id = app.store().memberships(&owner.id).await.expect("m")[0].0.id.clone();
    let bot = app.store().create_chatbot(&account_id, "Help desk", Utc::now()).await.expect("bot");
    let elsewhere = app.owner().await;
    let foreign = app.chatbot(&elsewhere.account_id).await;
    let pairs = [
        ("client_id", "sitegpt-cli"),
        ("scope", "knowledge:read"),
        ("chatbot_id", bot.id.as_str()),
        ("chatbot_id", foreign.as_str()),
    ];
    let started = app.form("/oauth/device_authorization", &pairs, None).await.body;
    let code = started["user_code"].as_str().expect("code");
    let review = browser.get(&format!("/device?user_code={code}")).await;
    assert_eq!(review.status.as_u16(), 200, "{}", review.body);
    let chatbots =
        review.body.split("<dt>Chatbots</dt><dd>").nth(1).and_then(|r| r.split("</dd>").next()).expect("row");
    assert!(chatbots.starts_with("Only ") && chatbots.contains("Help desk"), "{chatbots}");
    review.assert_contains(&format!("<code>{foreign}</code> (not in names@example.com's team)"));
    review.assert_contains("Custom access: 1 scope on Knowledge, read only.");
    assert!(review.body.contains(r#"<details class="scopes-detail">"#), "closed when nothing is refused");
    assert!(!review.body.contains(&bot.id), "a chatbot of the team is shown by name");
}

#[tokio::test]
async fn scopes_beyond_the_role_cannot_be_approved() {
    let app = TestApp::new().await;
    let mut owner = verified_owner(&app, "boss@example.com").await;
    drop(owner.get("/").await);
    let boss = app.store().user_by_email("boss@example.com").await.expect("q").expect("u");
    let account_id = app.store().memberships(&boss.id).await.expect("m")[0].0.id.clone();
    let viewer = app.member(&account_id, Role::Viewer).await;
    // Give the viewer a password by signing them in through a fresh sign-up is not possible
    // (the e-mail exists); sign in with a session made in the store instead.
    let mut browser = Browser::new(&app);
    let session_id = "viewer-session-id-for-tests-only-000000000000";
    app.store()
        .create_session(
            sitegpt_store::NewSession {
                id_hash: sitegpt_server::web::hash_secret(session_id),
                user_id: viewer.id.clone(),
                csrf_token: "viewer-csrf".into(),
                now: Utc::now(),
                expires_at: Utc::now() + chrono::Duration::hours(1),
            },
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("session");
    browser.cookies.insert("sitegpt_session".into(), session_id.into());

    let started = start_device(&app, Some("account:read knowledge:write")).await;
    let code = started["user_code"].as_str().expect("code");
    let review = browser.get(&format!("/device?user_code={code}")).await;
    assert_eq!(review.status.as_u16(), 200);
    review.assert_contains("your role (viewer) cannot grant this");
    assert!(review.body.contains(r#"<details class="scopes-detail" open>"#), "a refusal opens the scope list");
    review.assert_contains("does not permit knowledge:write");
    assert!(review.body.contains("value=\"approve\" disabled"), "{}", review.body);
    let forced = browser
        .post(
            "/device",
            &[("csrf", "viewer-csrf"), ("user_code", code), ("account_id", &account_id), ("decision", "approve")],
        )
        .await;
    assert_eq!(forced.status.as_u16(), 403);
    forced.assert_contains("does not permit knowledge:write");
    assert_eq!(poll(&app, started["device_code"].as_str().expect("dc")).await.body["error"], "authorization_pending");
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_per_session() {
    let app = TestApp::new().await;
    let mut browser = verified_owner(&app, "typo@example.com").await;
    for wrong in ["BCDF-GHJK", "XXXX-XXXX", "nonsense", "BBBB-BBBB", "CCCC-CCCC"] {
        let page = browser.get(&format!("/device?user_code={wrong}")).await;
        assert!(matches!(page.status.as_u16(), 400 | 404), "{}", page.status);
        page.assert_contains("That code is not valid");
    }
    let started = start_device(&app, None).await;
    let limited = browser.get(&format!("/device?user_code={}", started["user_code"].as_str().expect("code"))).await;
    assert_eq!(limited.status.as_u16(), 429);
    assert!(limited.headers.get("retry-after").is_some());
    // Another person, from another address, is not affected.
    let mut other = Browser::from_address(&app, "10.0.0.2:1000");
    let link = other.sign_up("other@example.com", PASSWORD).await;
    other.open_link(&link).await;
    let page = other.get(&format!("/device?user_code={}", started["user_code"].as_str().expect("code"))).await;
    assert_eq!(page.status.as_u16(), 200);
}

#[tokio::test]
async fn cookies_are_secure_behind_https_and_assets_are_served() {
    let app = TestApp::with_public_url("https://sitegpt.example").await;
    let mut browser = Browser::new(&app);
    browser.sign_up("secure@example.com", PASSWORD).await;
    assert!(browser.set_cookie_headers.iter().all(|c| c.contains("; Secure")), "{:?}", browser.set_cookie_headers);
    let css = browser.get("/assets/app.css").await;
    assert_eq!(css.status.as_u16(), 200);
    assert!(css.headers["content-type"].to_str().expect("ct").starts_with("text/css"));
    let docs = browser.get("/docs").await;
    docs.assert_contains("/oauth/device_authorization");
    docs.assert_contains("Deprecated: API v0 (whitelabel)");
    docs.assert_contains("/api/v0/w/brands/{brandId}/users/{userId}/api-key");
    let script = browser.get("/assets/app.js").await;
    assert_eq!(script.status.as_u16(), 200);
    assert!(script.headers["content-type"].to_str().expect("ct").starts_with("text/javascript"));
    for path in ["/", "/login", "/signup", "/docs"] {
        let page = Browser::new(&app).get(path).await;
        page.assert_contains("<meta name=\"viewport\"");
        assert!(!page.body.contains("http://") || path == "/docs", "no external assets on {path}");
    }
}

#[tokio::test]
async fn expired_codes_get_a_clear_page() {
    let app = TestApp::new().await;
    let mut browser = verified_owner(&app, "late@example.com").await;
    let code = sitegpt_access::device::UserCode::generate();
    let then = Utc::now() - chrono::Duration::minutes(11);
    let id = sitegpt_access::id::new_sorted_id(sitegpt_access::id::IdKind::Device);
    app.store()
        .create_device_authorization(sitegpt_store::NewDeviceAuthorization {
            device_code_hash: sitegpt_access::device::DeviceCode::generate(&id).hash(),
            id,
            user_code: code.normalized().to_owned(),
            client_id: "sitegpt-cli".into(),
            scopes: sitegpt_access::AccessLevel::Standard.scopes(),
            chatbots: sitegpt_access::ChatbotRestriction::unrestricted(),
            token_name: None,
            now: then,
            expires_at: then + chrono::Duration::minutes(10),
            interval_secs: 5,
        })
        .await
        .expect("expired request");
    let page = browser.get(&format!("/device?user_code={code}")).await;
    assert_eq!(page.status.as_u16(), 410);
    page.assert_contains("This code has expired");
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_per_address() {
    let app = TestApp::new().await;
    let mut first = verified_owner(&app, "first@example.com").await;
    first.address = "10.4.4.4:1000".parse().expect("addr");
    for wrong in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"] {
        first.get(&format!("/device?user_code={wrong}")).await.assert_contains("That code is not valid");
    }
    // A second session from the same address is refused as well.
    let mut second = verified_owner(&app, "second@example.com").await;
    second.address = "10.4.4.4:1001".parse().expect("addr");
    assert_eq!(second.get("/device?user_code=HHHH-HHHH").await.status.as_u16(), 429);
}
