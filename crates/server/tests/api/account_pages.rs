//! Account settings and password reset through the pages: the team's name
//! under the API's rule, password changes that end other sessions, and reset
//! links that are single-use, expire, end every session, answer alike for
//! unknown addresses and are never stored or logged in plaintext.

use sitegpt_access::Role;

use crate::agents::{PASSWORD, signed_in};
use crate::helpers::{Browser, TestApp, captured_logs, contains};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The newest password reset link mailed to `email`, if any.
async fn reset_link(app: &TestApp, email: &str) -> Option<String> {
    let mail = app.outbox().await.into_iter().rev().find(|m| m.contains(email) && m.contains("/reset-password"))?;
    let start = mail.find("http")?;
    let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    Some(link[link.find("/reset-password").expect("path")..].to_owned())
}

async fn ask_for_reset(app: &TestApp, email: &str, address: &str) -> crate::helpers::Page {
    let mut browser = Browser::from_address(app, address);
    let csrf = browser.get("/forgot-password").await.csrf();
    browser.post("/forgot-password", &[("csrf", &csrf), ("email", email)]).await
}

async fn change_password(
    browser: &mut Browser<'_>,
    csrf: &str,
    account: &str,
    current: &str,
    new: &str,
) -> crate::helpers::Page {
    let pairs = [("csrf", csrf), ("account", account), ("current", current), ("password", new)];
    browser.post("/dashboard/settings/password", &pairs).await
}

/// Still signed in? (The dashboard answers 200 rather than sending to sign-in.)
async fn signed_in_still(browser: &mut Browser<'_>) -> bool {
    browser.get("/dashboard/settings").await.status.as_u16() == 200
}

#[tokio::test]
async fn a_reset_link_is_single_use_ends_every_session_and_is_never_stored_in_plaintext() {
    let app = TestApp::new().await;
    let (mut laptop, _) = signed_in(&app, "forgetful@example.com").await;
    let mut phone = Browser::new(&app);
    phone.sign_in("forgetful@example.com", PASSWORD).await;
    Browser::new(&app).get("/login").await.assert_contains(r#"<a href="/forgot-password">Forgot password?</a>"#);

    // Known and unknown addresses get the same answer; only the known one gets mail.
    let known = ask_for_reset(&app, "Forgetful@Example.com", "10.1.0.1:1").await;
    let unknown = ask_for_reset(&app, "nobody@example.com", "10.1.0.2:1").await;
    assert_eq!((known.status.as_u16(), unknown.status.as_u16()), (200, 200));
    let strip = |body: &str, email: &str| body.replace(email, "EMAIL");
    assert_eq!(strip(&known.body, "forgetful@example.com"), strip(&unknown.body, "nobody@example.com"));
    let link = reset_link(&app, "forgetful@example.com").await.expect("a reset mail");
    assert!(reset_link(&app, "nobody@example.com").await.is_none(), "no mail to an unknown address");
    let secret = link.split("token=").nth(1).expect("token").to_owned();
    assert_eq!(secret.len(), 43);

    // The form, then a password that breaks the rule, then a good one.
    let mut stranger = Browser::new(&app);
    let form = stranger.get(&link).await;
    assert_eq!(form.status.as_u16(), 200);
    assert_eq!(form.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let csrf = form.csrf();
    let short = stranger.post("/reset-password", &[("csrf", &csrf), ("token", &secret), ("password", "short")]).await;
    assert_eq!(short.status.as_u16(), 400);
    short.assert_contains("Use at least 8 characters.");
    let done =
        stranger.post("/reset-password", &[("csrf", &csrf), ("token", &secret), ("password", NEW_PASSWORD)]).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    done.assert_contains("Password changed");
    assert!(!signed_in_still(&mut laptop).await && !signed_in_still(&mut phone).await, "every session ended");

    // The new password works, the old one does not, and the link is spent.
    let mut again = Browser::new(&app);
    again.sign_in("forgetful@example.com", NEW_PASSWORD).await;
    let mut old = Browser::new(&app);
    let csrf = old.get("/login").await.csrf();
    let refused =
        old.post("/login", &[("csrf", &csrf), ("email", "forgetful@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(refused.status.as_u16(), 401);
    let reused = stranger.get(&link).await;
    assert_eq!(reused.status.as_u16(), 410);
    reused.assert_contains("already used");
    let csrf = stranger.get("/forgot-password").await.csrf();
    let replay =
        stranger.post("/reset-password", &[("csrf", &csrf), ("token", &secret), ("password", "yet another one")]).await;
    assert_eq!(replay.status.as_u16(), 410);
    assert_eq!(stranger.get("/reset-password?token=nonsense").await.status.as_u16(), 404);

    // Only the hash is kept: not in the database, not in the log.
    assert!(!contains(&app.database_bytes().await, &secret), "the reset secret is in the database");
    assert!(!captured_logs().contains(&secret), "the reset secret is in the log");
    assert!(!captured_logs().contains(NEW_PASSWORD), "the password is in the log");
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour_and_requests_are_rate_limited() {
    let app = TestApp::new().await;
    let (_, _) = signed_in(&app, "late@example.com").await;
    ask_for_reset(&app, "late@example.com", "10.2.0.1:1").await;
    let link = reset_link(&app, "late@example.com").await.expect("mail");
    // 59 minutes on, it still works; two minutes later it does not.
    let minutes_pass = |m: i64| {
        format!(
            "UPDATE password_resets SET created_at = created_at - {ms}, expires_at = expires_at - {ms}",
            ms = m * 60_000
        )
    };
    app.execute_sql(&minutes_pass(59)).await;
    assert_eq!(Browser::new(&app).get(&link).await.status.as_u16(), 200);
    app.execute_sql(&minutes_pass(2)).await;
    let page = Browser::new(&app).get(&link).await;
    assert_eq!(page.status.as_u16(), 410);
    page.assert_contains("This link has expired. Ask for a new one.");

    // Three mails per address per hour, whoever asks; ten requests per client address.
    for i in 0..2 {
        assert_eq!(ask_for_reset(&app, "late@example.com", &format!("10.2.1.{i}:1")).await.status.as_u16(), 200);
    }
    let limited = ask_for_reset(&app, "late@example.com", "10.2.2.1:1").await;
    assert_eq!(limited.status.as_u16(), 429);
    assert!(limited.headers.contains_key("retry-after"));
    for i in 0..10 {
        let page = ask_for_reset(&app, &format!("someone{i}@example.com"), "10.2.3.1:1").await;
        assert_eq!(page.status.as_u16(), 200);
    }
    assert_eq!(ask_for_reset(&app, "someone-else@example.com", "10.2.3.1:1").await.status.as_u16(), 429);
    // A malformed address is a form error, not a mail or a count.
    let bad = ask_for_reset(&app, "not an address", "10.2.4.1:1").await;
    assert_eq!(bad.status.as_u16(), 400);
    bad.assert_contains("Enter an e-mail address like you@example.com.");
}

#[tokio::test]
async fn settings_rename_the_team_change_the_password_and_end_other_sessions() {
    let app = TestApp::new().await;
    let (mut browser, owner) = signed_in(&app, "settings@example.com").await;
    let mut other_device = Browser::new(&app);
    other_device.sign_in("settings@example.com", PASSWORD).await;
    let page = browser.get("/dashboard/settings").await;
    assert_eq!(page.status.as_u16(), 200);
    page.assert_contains(r#"<a href="/dashboard/settings" aria-current="page">Settings</a>"#);
    let csrf = page.csrf();
    let account = owner.account_id.as_str();

    let renamed = browser
        .post("/dashboard/settings/team", &[("csrf", &csrf), ("account", account), ("name", "Acme Support")])
        .await;
    assert_eq!((renamed.status.as_u16(), renamed.location()), (303, "/dashboard/settings?done=renamed"));
    assert_eq!(app.store().account(account).await.expect("read").expect("account").name, "Acme Support");
    let empty = browser.post("/dashboard/settings/team", &[("csrf", &csrf), ("account", account), ("name", " ")]).await;
    assert_eq!(empty.status.as_u16(), 400);
    empty.assert_contains("The team name must not be empty.");

    // Wrong current password: nothing changes, and both sessions live on.
    let wrong = change_password(&mut browser, &csrf, account, "not it at all", NEW_PASSWORD).await;
    assert_eq!(wrong.status.as_u16(), 400);
    wrong.assert_contains("That is not your current password.");
    let short = change_password(&mut browser, &csrf, account, PASSWORD, "short").await;
    assert_eq!(short.status.as_u16(), 400);
    short.assert_contains("Use at least 8 characters.");
    assert!(signed_in_still(&mut other_device).await);
    let changed = change_password(&mut browser, &csrf, account, PASSWORD, NEW_PASSWORD).await;
    assert_eq!((changed.status.as_u16(), changed.location()), (303, "/dashboard/settings?done=password"));
    assert!(signed_in_still(&mut browser).await, "this session stays");
    assert!(!signed_in_still(&mut other_device).await, "the other session ended");
    let mut fresh = Browser::new(&app);
    fresh.sign_in("settings@example.com", NEW_PASSWORD).await;

    // Sign out of every other session.
    let ended = browser.post("/dashboard/settings/sessions", &[("csrf", &csrf), ("account", account)]).await;
    assert_eq!((ended.status.as_u16(), ended.location()), (303, "/dashboard/settings?done=sessions-1"));
    browser.get(ended.location()).await.assert_contains("Signed out of 1 other session.");
    assert!(signed_in_still(&mut browser).await && !signed_in_still(&mut fresh).await);
    let forged = browser.post("/dashboard/settings/sessions", &[("csrf", "forged"), ("account", account)]).await;
    assert_eq!(forged.status.as_u16(), 403);
    assert!(!captured_logs().contains(NEW_PASSWORD));
}

#[tokio::test]
async fn members_cannot_rename_the_team_and_wrong_passwords_are_limited() {
    let app = TestApp::new().await;
    let (_, owner) = signed_in(&app, "owner@example.com").await;
    let (mut member_browser, member) = signed_in(&app, "member@example.com").await;
    app.store().add_member(&owner.account_id, &member.id, Role::Member, chrono::Utc::now()).await.expect("join");
    let page = member_browser.get(&format!("/dashboard/settings?account={}", owner.account_id)).await;
    page.assert_contains("Your role (member) does not permit `account:write`.");
    assert!(!page.body.contains("Rename team"));
    let csrf = page.csrf();
    let refused = member_browser
        .post("/dashboard/settings/team", &[("csrf", &csrf), ("account", &owner.account_id), ("name", "Mine now")])
        .await;
    assert_eq!(refused.status.as_u16(), 403);
    assert_ne!(app.store().account(&owner.account_id).await.expect("read").expect("account").name, "Mine now");

    for _ in 0..5 {
        let page = change_password(&mut member_browser, &csrf, &member.account_id, "guess", NEW_PASSWORD).await;
        assert_eq!(page.status.as_u16(), 400);
    }
    let limited = change_password(&mut member_browser, &csrf, &member.account_id, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(limited.status.as_u16(), 429, "even the right password waits after five wrong ones");
}
