//! The real `sitepulse-server` binary: admin commands, the API over HTTP,
//! scheduled and manual checks of a local site opening and resolving an
//! issue, one server per SQLite file, and no secret in logs or the file.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Answer, Site};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sitepulse-server");

fn command(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("SITEPULSE_DATA_DIR", dir)
        .env("SITEPULSE_LISTEN", "127.0.0.1:0")
        .env("SITEPULSE_CHECK_PRIVATE_RANGES", "127.0.0.1/32")
        .env("SITEPULSE_CHECK_TICK_MS", "100")
        .env("SITEPULSE_LOG_FORMAT", "json")
        .env_remove("SITEPULSE_DATABASE_URL");
    command
}

fn admin(dir: &Path, args: &[&str]) -> Result<Value, String> {
    let output = command(dir).arg("admin").args(args).output().expect("run admin");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("one JSON object"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A running server, its address and everything it logged.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = command(dir).arg("serve").stderr(Stdio::piped()).spawn().expect("start the server");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (sender, listening) = std::sync::mpsc::channel();
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("sitepulse-server is listening") {
                    let parsed: Value = serde_json::from_str(&line).expect("a JSON log line");
                    let _ = sender.send(parsed["listen"].as_str().expect("listen").to_owned());
                }
                kept.lock().expect("lock").push_str(&line);
                kept.lock().expect("lock").push('\n');
            }
        });
        let address = listening.recv_timeout(Duration::from_secs(30)).expect("the server listens");
        Server { child, base: format!("http://{address}"), log }
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let request = ureq::request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Accept", "application/json");
        let answer = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let response = match answer {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let text = response.into_string().expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    /// Waits until `path` answers with a list whose first item satisfies `done`.
    fn wait_for(&self, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.call("GET", path, token, None);
            if let Some(first) = body["data"].as_array().and_then(|items| items.first()).filter(|i| done(i)) {
                return first.clone();
            }
            assert!(Instant::now() < deadline, "{path} never got there: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().expect("lock").clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_checks_a_site_opens_an_issue_and_resolves_it() {
    let status = Arc::new(AtomicU16::new(500));
    let answer = Arc::clone(&status);
    let site = Site::start(move |_| Answer::Status(answer.load(Ordering::SeqCst))).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    admin(&d, &["create-user", "--email", "ada@example.com", "--password", "long secret", "--verified"]).expect("user");
    let team =
        admin(&d, &["create-team", "--owner-email", "ada@example.com", "--name", "Ops", "--failure-threshold", "2"])
            .expect("team");
    let team_id = team["team"]["id"].as_str().expect("id").to_owned();
    let created = admin(
        &d,
        &[
            "create-token",
            "--email",
            "ada@example.com",
            "--name",
            "CI Pipeline",
            "--scope",
            "teams:read,sites:read,sites:write",
        ],
    )
    .expect("token");
    let token = created["plaintext_token"].as_str().expect("plaintext").to_owned();
    let token_id = created["token"]["id"].as_str().expect("id").to_owned();
    assert!(token.starts_with("spat_"));
    let more = admin(
        &d,
        &[
            "create-token",
            "--email",
            "ada@example.com",
            "--name",
            "checks",
            "--scope",
            "checks:read",
            "--scope",
            "checks:run",
            "--scope",
            "issues:read",
        ],
    )
    .expect("token");
    let checks_token = more["plaintext_token"].as_str().expect("plaintext").to_owned();
    let bad = admin(&d, &["create-token", "--email", "ada@example.com", "--name", "x", "--scope", "account:read"]);
    assert!(bad.is_err_and(|e| e.contains("valid scopes are teams:read")));

    let data = d.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&d)).await.expect("start");
    let server = Arc::new(server);
    let s = Arc::clone(&server);
    let (t, c) = (token.clone(), checks_token.clone());
    let site_url = site.url("/health");
    let team_path = format!("/api/v1/teams/{team_id}");
    let log = tokio::task::spawn_blocking(move || {
        let (status_code, body) =
            s.call("POST", &format!("{team_path}/sites"), &t, Some(json!({"name": "Shop", "url": site_url})));
        assert_eq!(status_code, 201, "{body}");
        let site_id = body["data"]["id"].as_str().expect("id").to_owned();
        let checks = format!("/api/v1/sites/{site_id}/checks");
        // The scheduled check runs at once: down.
        let first = s.wait_for(&checks, &c, |run| run["status"] == "down");
        assert_eq!((first["trigger"].as_str(), first["http_status"].as_u64()), (Some("scheduled"), Some(500)));
        // Without checks:run, the first token cannot queue one: 403.
        assert_eq!(s.call("POST", &checks, &t, None).0, 403);
        // A manual check, down again: the second failure opens an issue.
        assert_eq!(s.call("POST", &checks, &c, None).0, 202);
        s.wait_for(&checks, &c, |run| run["trigger"] == "manual" && run["status"] == "down");
        let issue = s.wait_for(&format!("{team_path}/issues?status=open"), &c, |issue| issue["status"] == "open");
        assert_eq!(issue["cause"], "HTTP 500");
        // The site recovers; the next check resolves the issue.
        status.store(200, Ordering::SeqCst);
        assert_eq!(s.call("POST", &checks, &c, None).0, 202);
        s.wait_for(&checks, &c, |run| run["status"] == "up");
        let issue_id = issue["id"].as_str().expect("id");
        let (_, resolved) = s.call("GET", &format!("/api/v1/issues/{issue_id}"), &c, None);
        assert_eq!(resolved["data"]["status"], "resolved");
        let (_, shown) = s.call("GET", &format!("/api/v1/sites/{site_id}"), &t, None);
        assert_eq!(
            (shown["data"]["status"].as_str(), shown["data"]["consecutive_failures"].as_u64()),
            (Some("up"), Some(0))
        );
        // Revoked by the operator beside the server: 401 at once.
        assert_eq!(s.call("GET", "/api/v1/teams", &t, None).0, 200);
        admin(&data, &["revoke-token", "--email", "ada@example.com", "--token-id", &token_id]).expect("revoke");
        let (status_code, body) = s.call("GET", "/api/v1/teams", &t, None);
        assert_eq!(
            (status_code, body["message"].as_str()),
            (401, Some("Unauthenticated. The token has been revoked."))
        );
        let unknown = admin(&data, &["revoke-token", "--email", "ada@example.com", "--token-id", "pat_none"]);
        assert!(unknown.is_err_and(|e| e.contains("has no token with the id pat_none")));
        assert_eq!(s.call("GET", "/api/v1/teams", "spat_nonsense", None).0, 401);
    })
    .await;
    let server = Arc::try_unwrap(server).ok().expect("one owner");
    // A second server on the same file is refused while the first runs.
    let second = command(&dir.path().join("data")).arg("serve").output().expect("second serve");
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another sitepulse-server is serving"), "{:?}", second);
    let logs = server.stop();
    log.expect("the scenario");
    assert!(logs.contains("\"route\":\"/api/v1/sites/{site}/checks\""), "access log by route template");
    assert!(logs.contains("issue opened") && logs.contains("issue resolved"), "{logs}");
    let mut file = Vec::new();
    for suffix in ["sitepulse.db", "sitepulse.db-wal"] {
        file.extend(std::fs::read(dir.path().join("data").join(suffix)).unwrap_or_default());
    }
    for secret in [&token, &checks_token] {
        assert!(!logs.contains(&secret[5..]), "a token in the log");
        assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()), "a token in the database");
    }
}

#[test]
fn help_shows_examples_and_every_command() {
    let output = Command::new(BIN).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for expected in ["Examples:", "sitepulse-server serve", "create-token", "serve", "admin"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let admin = Command::new(BIN).args(["admin", "--help"]).output().expect("admin help");
    let text = String::from_utf8_lossy(&admin.stdout);
    for command in
        ["create-user", "verify-email", "create-team", "add-member", "set-subscription", "create-token", "revoke-token"]
    {
        assert!(text.contains(command), "{command}: {text}");
    }
}

#[test]
fn a_first_start_says_how_to_get_a_first_token() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&dir.path().join("fresh"));
    let (status, body) = {
        let response = ureq::get(&format!("{}/healthz", server.base)).call().expect("healthz");
        (response.status(), response.into_string().expect("body"))
    };
    assert_eq!(status, 200);
    assert!(body.contains("\"product\":\"sitepulse\""), "{body}");
    let logs = server.stop();
    assert!(logs.contains("No users yet"), "{logs}");
    assert!(
        logs.contains("admin create-user --email you@example.com") && logs.contains("admin create-token"),
        "{logs}"
    );
}
