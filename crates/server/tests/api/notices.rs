//! Mail about tokens: expiry warnings a week and a day ahead (each once, on
//! every node together; off when the person says so), notes when a device
//! login or an OAuth app adds a token, and their delivery as text and HTML
//! with `List-Unsubscribe` to a real SMTP server (aiosmtpd) on loopback.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use sitegpt_access::Scope;
use sitegpt_server::notices::send_expiry_notices;

use crate::helpers::{TestApp, TestUser};

/// A token of `user` that lived `lived_days` and expires in `left_hours`.
async fn aged_token(app: &TestApp, user: &TestUser, name: &str, lived_days: i64, left_hours: i64) -> String {
    let expires = Utc::now() + chrono::Duration::hours(left_hours);
    let (id, _) = app.raw_token(user, [Scope::AccountRead].into_iter().collect(), &[], expires).await;
    let created = (Utc::now() - chrono::Duration::days(lived_days)).timestamp_millis();
    app.execute_sql(&format!("UPDATE api_tokens SET name = '{name}', created_at = {created} WHERE id = '{id}'")).await;
    id
}

fn mails_with(outbox: &[String], text: &str) -> Vec<String> {
    outbox.iter().filter(|m| m.contains(text)).cloned().collect()
}

#[tokio::test]
async fn warnings_go_a_week_and_a_day_ahead_once_each_and_not_to_those_who_said_no() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let week = aged_token(&app, &owner, "Weekly report", 30, 5 * 24).await;
    let day = aged_token(&app, &owner, "Nightly sync", 30, 12).await;
    aged_token(&app, &owner, "Short lived", 2, 2 * 24).await; // lived 2 days: no week warning at birth
    aged_token(&app, &owner, "Far off", 30, 20 * 24).await;
    let revoked = aged_token(&app, &owner, "Revoked one", 30, 4 * 24).await;
    app.store().revoke_token(&revoked, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
    let quiet = app.owner().await;
    aged_token(&app, &quiet, "Quiet one", 30, 3 * 24).await;
    app.store().set_expiry_notices(&quiet.id, false).await.expect("off");

    assert_eq!(send_expiry_notices(app.store(), "http://api.test").await.expect("claim"), 2);
    assert_eq!(send_expiry_notices(app.store(), "http://api.test").await.expect("again"), 0, "each once");
    let outbox = app.outbox().await;
    let weekly = mails_with(&outbox, "“Weekly report” expires within a week");
    assert_eq!(weekly.len(), 1, "{outbox:?}");
    let mail = &weekly[0];
    assert!(mail.contains(&format!("To: {}", owner.email)));
    assert!(mail.contains(&format!("http://api.test/dashboard/agents/{week}/rotate")));
    assert!(mail.contains("List-Unsubscribe: <http://api.test/dashboard/settings#notices>"));
    assert!(mail.contains("--- the HTML part ---") && mail.contains("<strong>“Weekly report”</strong>"));
    assert_eq!(mails_with(&outbox, "“Nightly sync” expires within a day").len(), 1);
    assert!(mails_with(&outbox, &day).len() == 1);
    for silent in ["Short lived", "Far off", "Revoked one", "Quiet one"] {
        assert!(mails_with(&outbox, silent).is_empty(), "{silent} got a warning");
    }
    // A day later the weekly token is within a day: its second warning goes, once.
    app.execute_sql(&format!(
        "UPDATE api_tokens SET expires_at = expires_at - {} WHERE id = '{week}'",
        4 * 86_400_000_i64 + 12 * 3_600_000
    ))
    .await;
    assert_eq!(send_expiry_notices(app.store(), "http://api.test").await.expect("claim"), 1);
    assert_eq!(mails_with(&app.outbox().await, "“Weekly report” expires within a day").len(), 1);
}

#[tokio::test]
async fn two_nodes_at_once_send_each_warning_once() {
    let app = TestApp::new().await;
    let other = app.another_node().await;
    let owner = app.owner().await;
    for i in 0..20 {
        aged_token(&app, &owner, &format!("token {i}"), 30, 3 * 24).await;
    }
    let (a, b) = tokio::join!(
        send_expiry_notices(app.store(), "http://api.test"),
        send_expiry_notices(other.store(), "http://api.test")
    );
    assert_eq!(a.expect("node a") + b.expect("node b"), 20);
    assert_eq!(app.count_rows("token_notices").await, 20);
    assert_eq!(app.count_rows("mail_queue").await, 20, "one mail per token and notice");
}

#[tokio::test]
async fn settings_turn_the_warnings_off_and_on() {
    let app = TestApp::new().await;
    let (mut browser, user) = crate::agents::signed_in(&app, "notices@example.com").await;
    let page = browser.get("/dashboard/settings").await;
    page.assert_contains(r#"name="expiry" value="on" checked"#);
    let csrf = page.csrf();
    let off = browser.post("/dashboard/settings/notices", &[("csrf", &csrf), ("account", &user.account_id)]).await;
    assert_eq!((off.status.as_u16(), off.location()), (303, "/dashboard/settings?done=notices-off"));
    assert!(!app.store().expiry_notices(&user.id).await.expect("read"));
    assert!(!browser.get("/dashboard/settings").await.body.contains(r#"value="on" checked"#));
    let on = browser
        .post("/dashboard/settings/notices", &[("csrf", &csrf), ("account", &user.account_id), ("expiry", "on")])
        .await;
    assert_eq!(on.location(), "/dashboard/settings?done=notices-on");
    assert!(app.store().expiry_notices(&user.id).await.expect("read"));
    let forged =
        browser.post("/dashboard/settings/notices", &[("csrf", "forged"), ("account", &user.account_id)]).await;
    assert_eq!(forged.status.as_u16(), 403);
}

#[tokio::test]
async fn a_device_login_and_an_oauth_app_each_tell_the_owner_about_the_new_token() {
    let app = TestApp::new().await;
    let mut browser = crate::web::verified_owner(&app, "devices@example.com").await;
    let started = crate::web::start_device(&app, Some("account:read")).await;
    let code = started["user_code"].as_str().expect("code");
    let review = browser.get(&format!("/device?user_code={code}")).await;
    let account_id = review.field("account_id");
    let pairs = [
        ("csrf", review.csrf()),
        ("user_code", code.to_owned()),
        ("account_id", account_id),
        ("decision", "approve".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/device", &pairs).await.assert_contains("Access approved");
    let issued = crate::web::poll(&app, started["device_code"].as_str().expect("device code")).await;
    assert_eq!(issued.status.as_u16(), 200, "{}", issued.body);
    let device_mail =
        mails_with(&app.outbox().await, "was added to your SiteGPT account by a device login of SiteGPT CLI");
    assert_eq!(device_mail.len(), 1);
    assert!(device_mail[0].contains("To: devices@example.com") && device_mail[0].contains("/dashboard/agents/tok_"));

    let (_, user, _, _) = crate::authorization_code::granted(&app, "apps@example.com").await;
    let app_mail = mails_with(&app.outbox().await, "(OAuth)");
    assert_eq!(app_mail.len(), 1, "one mail for the code exchange");
    assert!(app_mail[0].contains(&format!("To: {}", user.email)));
}

/// aiosmtpd on a free loopback port, storing what it receives as a Maildir.
struct Aiosmtpd {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Aiosmtpd {
    fn start() -> Aiosmtpd {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (pip install aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Aiosmtpd { child, port, maildir }
    }

    fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("box").join("new");
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries.filter_map(|e| e.ok()).map(|e| std::fs::read_to_string(e.path()).expect("message")).collect()
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_real_smtp_server_receives_the_warning_as_text_and_html_with_list_unsubscribe() {
    let smtp = Aiosmtpd::start();
    let app = TestApp::with_mail("http://api.test", Some(&format!("smtp://127.0.0.1:{}", smtp.port))).await;
    let owner = app.owner().await;
    let id = aged_token(&app, &owner, "Billing export", 30, 3 * 24).await;
    assert_eq!(send_expiry_notices(app.store(), "http://api.test").await.expect("claim"), 1);
    assert_eq!(app.deliver_mail().await, 1);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "exactly one message");
    let message = &messages[0];
    assert!(message.contains(&format!("To: {}", owner.email)), "{message}");
    assert!(message.contains("Subject: Your SiteGPT token"), "{message}");
    assert!(message.contains("List-Unsubscribe: <http://api.test/dashboard/settings#notices>"), "{message}");
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"), "{message}");
    assert!(message.contains(&id), "the link to the token is in it");
}
