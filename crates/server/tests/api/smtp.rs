//! With `SITEGPT_SMTP_URL`, verification mail goes over SMTP (to a small
//! SMTP server this test runs on loopback), not to the outbox.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use crate::helpers::{Browser, TestApp, contains};

/// Accepts one SMTP session and sends back the message data it received.
fn smtp_sink() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut writer = stream;
        writer.write_all(b"220 sink ESMTP\r\n").expect("greet");
        let mut data = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-sink\r\n250 8BITMIME\r\n"
            } else if command == "DATA" {
                writer.write_all(b"354 go ahead\r\n").expect("354");
                loop {
                    line.clear();
                    reader.read_line(&mut line).expect("data");
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                b"250 queued\r\n"
            } else if command == "QUIT" {
                writer.write_all(b"221 bye\r\n").expect("221");
                break;
            } else {
                b"250 ok\r\n"
            };
            writer.write_all(reply).expect("reply");
        }
        let _ = sender.send(data);
    });
    (url, receiver)
}

/// Signs up through the page, which answers at once whatever the mail does.
async fn sign_up(app: &TestApp, email: &str) {
    let mut browser = Browser::new(app);
    let csrf = browser.get("/signup").await.csrf();
    let done =
        browser.post("/signup", &[("csrf", &csrf), ("email", email), ("password", "correct horse battery")]).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    done.assert_contains("Check your inbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_mail_goes_over_smtp_when_configured() {
    let (url, received) = smtp_sink();
    let app = TestApp::with_mail("http://api.test", Some(&url)).await;
    sign_up(&app, "smtp@example.com").await;
    assert_eq!(app.deliver_mail().await, 1);
    let message = tokio::task::spawn_blocking(move || received.recv_timeout(std::time::Duration::from_secs(10)))
        .await
        .expect("join")
        .expect("a message arrived");
    assert!(message.contains("To: smtp@example.com"), "{message}");
    assert!(message.contains("Subject: Verify your e-mail address for SiteGPT"));
    assert!(message.contains("verify-email?token"), "the link is in the message");
    assert!(app.outbox().await.is_empty(), "nothing written to the outbox");
}

/// A mail server that is down fails no request and loses no message: the
/// message waits in the store, and the next node up sends it.
#[tokio::test]
async fn mail_waits_in_the_store_while_the_mail_server_is_down() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("smtp://{}", listener.local_addr().expect("addr"))
    };
    let app = TestApp::with_mail("http://api.test", Some(&closed)).await;
    sign_up(&app, "patient@example.com").await;
    assert!(app.store().user_by_email("patient@example.com").await.expect("q").is_some());
    assert_eq!(app.deliver_mail().await, 1, "one attempt");
    assert_eq!(app.store().mail_counts().await.expect("counts"), (1, 0), "still queued");
    let stored = app.database_bytes().await;
    assert!(contains(&stored, "{link}") && contains(&stored, "Connection refused"), "queued with the reason");
    assert!(!contains(&stored, "verify-email?token="), "no link secret waits in the queue");
    assert_eq!(app.deliver_mail().await, 0, "not retried before its backoff");

    // The process goes away; another node (with the outbox) picks the
    // message up once it is due, with a link that works.
    app.execute_sql("UPDATE mail_queue SET next_attempt_at = 0").await;
    let node = app.another_node().await;
    let outbox = node.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].contains("To: patient@example.com"));
    assert_eq!(node.store().mail_counts().await.expect("counts"), (0, 0), "sent mail leaves the queue");
    let link = outbox[0].lines().find(|l| l.contains("/verify-email?token=")).expect("link").trim().to_owned();
    let secret = &link[link.find("token=").expect("token") + 6..];
    assert!(!contains(&node.database_bytes().await, secret), "only the link's hash is stored");
    let path = &link[link.find("/verify-email").expect("path")..];
    Browser::new(&node).get(path).await.assert_contains("Your e-mail is verified");
}

/// Until the outbox can be written to, the message stays queued with the
/// reason; an attempt past the last is given up and kept for operators.
#[tokio::test]
async fn an_unwritable_outbox_fails_no_request_and_mail_is_retried() {
    let app = TestApp::new().await;
    let outbox = app.db_path().with_file_name("outbox");
    std::fs::write(&outbox, "not a folder").expect("block the outbox");
    sign_up(&app, "later@example.com").await;
    assert_eq!(app.deliver_mail().await, 1);
    assert!(contains(&app.database_bytes().await, "File exists"), "the reason is kept");

    std::fs::remove_file(&outbox).expect("unblock");
    app.execute_sql("UPDATE mail_queue SET next_attempt_at = 0").await;
    let mails = app.outbox().await;
    assert!(mails.iter().any(|m| m.contains("To: later@example.com")), "{mails:?}");

    // Given up after the last attempt.
    std::fs::remove_dir_all(&outbox).expect("remove");
    std::fs::write(&outbox, "blocked again").expect("block");
    let user = app.store().user_by_email("later@example.com").await.expect("q").expect("user");
    let attempts = sitegpt_server::mail::MAX_ATTEMPTS;
    app.store()
        .queue_mail(
            sitegpt_store::OutgoingMail {
                to: user.email.clone(),
                subject: "s".into(),
                body: "b".into(),
                link: None,
                user_id: None,
                html: None,
                unsubscribe: None,
            },
            chrono::Utc::now(),
        )
        .await
        .expect("queue");
    for _ in 0..attempts {
        app.execute_sql("UPDATE mail_queue SET next_attempt_at = 0 WHERE failed_at IS NULL").await;
        assert_eq!(app.deliver_mail().await, 1);
    }
    assert_eq!(app.store().mail_counts().await.expect("counts"), (0, 1), "given up, kept for operators");
    assert_eq!(app.deliver_mail().await, 0);
}
