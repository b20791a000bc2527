//! With `SITEGPT_SMTP_URL`, verification mail goes over SMTP (to a small
//! SMTP server this test runs on loopback), not to the outbox.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use crate::helpers::{Browser, TestApp};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_mail_goes_over_smtp_when_configured() {
    let (url, received) = smtp_sink();
    let app = TestApp::with_mail("http://api.test", Some(&url)).await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/signup").await.csrf();
    let done = browser
        .post("/signup", &[("csrf", &csrf), ("email", "smtp@example.com"), ("password", "correct horse battery")])
        .await;
    assert_eq!(done.status.as_u16(), 303, "{}", done.body);
    let message = tokio::task::spawn_blocking(move || received.recv_timeout(std::time::Duration::from_secs(10)))
        .await
        .expect("join")
        .expect("a message arrived");
    assert!(message.contains("To: smtp@example.com"), "{message}");
    assert!(message.contains("Subject: Verify your e-mail address for SiteGPT"));
    assert!(message.contains("verify-email?token"), "the link is in the message");
    assert!(app.outbox().is_empty(), "nothing written to the outbox");
}
