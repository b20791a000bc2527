//! The real `sitegpt-server` binary: `serve` on the SQLite default, the admin
//! commands against the same data directory while it runs, and its logs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sitegpt_testkit::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_sitegpt-server");

struct Server {
    process: ServerProcess,
    data_dir: PathBuf,
    base: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Server::start_on(dir, None)
    }

    /// With `database_url`, on that database instead of the SQLite default.
    fn start_on(dir: &Path, database_url: Option<&str>) -> Server {
        let data_dir = dir.join("data");
        let mut command = Command::new(BIN);
        match database_url {
            Some(url) => command.env("SITEGPT_DATABASE_URL", url),
            None => command.env_remove("SITEGPT_DATABASE_URL"),
        };
        command.env("SITEGPT_DATA_DIR", &data_dir).env("SITEGPT_LOG", "debug");
        let process = ServerProcess::start(command, &dir.join("server.log"));
        let base = process.base.clone();
        Server { process, data_dir, base }
    }

    fn admin(&self, args: &[&str]) -> Result<Value, String> {
        let output = Command::new(BIN)
            .arg("admin")
            .args(args)
            .env("SITEGPT_DATA_DIR", &self.data_dir)
            .env_remove("SITEGPT_DATABASE_URL")
            .output()
            .expect("run admin command");
        if output.status.success() {
            Ok(serde_json::from_slice(&output.stdout).expect("admin prints one JSON object"))
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let result = ureq::get(&format!("{}{path}", self.base)).set("Authorization", &format!("Bearer {token}")).call();
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(e) => panic!("request failed: {e}"),
        };
        (response.status(), response.into_json().expect("JSON body"))
    }

    fn stop(self) -> String {
        self.process.stop()
    }
}

#[test]
fn serve_and_admin_commands_work_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());

    let health: Value =
        ureq::get(&format!("{}/healthz", server.base)).call().expect("healthz").into_json().expect("json");
    assert_eq!(health["status"], "ok");

    let owner = server
        .admin(&[
            "create-user",
            "--email",
            "Ada@Example.com",
            "--password",
            "a long secret",
            "--verified",
            "--account",
            "Acme",
        ])
        .expect("create-user");
    let account_id = owner["accountId"].as_str().expect("accountId").to_owned();
    assert!(owner["userId"].as_str().expect("userId").starts_with("usr_"));
    let viewer = server
        .admin(&[
            "create-user",
            "--email",
            "bob@example.com",
            "--password",
            "viewer password",
            "--account-id",
            &account_id,
            "--role",
            "viewer",
        ])
        .expect("create-user in account");
    assert_eq!(viewer["accountId"], account_id.as_str());
    let chatbot =
        server.admin(&["create-chatbot", "--account-id", &account_id, "--name", "Support"]).expect("create-chatbot");
    let chatbot_id = chatbot["chatbotId"].as_str().expect("chatbotId").to_owned();

    let token = server
        .admin(&[
            "create-token",
            "--email",
            "ada@example.com",
            "--name",
            "first",
            "--scope",
            "account:read",
            "--scope",
            "tokens:read",
            "--chatbot",
            &chatbot_id,
            "--expires-in-days",
            "7",
        ])
        .expect("create-token");
    let plaintext = token["plaintextToken"].as_str().expect("plaintextToken").to_owned();
    assert!(token["id"].as_str().expect("id").starts_with("tok_"));

    let (status, me) = server.get("/api/v2/account", &plaintext);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["account"]["name"], "Acme");
    assert_eq!(me["data"]["user"]["email"], "ada@example.com");
    assert_eq!(me["data"]["token"]["chatbotIds"], serde_json::json!([chatbot_id]));
    let (_, listed) = server.get("/api/v2/tokens", &plaintext);
    assert_eq!(listed["data"]["items"][0]["createdVia"], "admin");

    // Changes made by admin commands while the server runs apply at once.
    let bob_token = server
        .admin(&["create-token", "--email", "bob@example.com", "--name", "bob", "--scope", "account:read"])
        .expect("token");
    let bob_plain = bob_token["plaintextToken"].as_str().expect("plaintext").to_owned();
    assert_eq!(server.get("/api/v2/account", &bob_plain).0, 403, "bob's e-mail is not verified");
    server.admin(&["verify-email", "--email", "bob@example.com"]).expect("verify-email");
    assert_eq!(server.get("/api/v2/account", &bob_plain).0, 200);
    server
        .admin(&["set-role", "--email", "bob@example.com", "--account-id", &account_id, "--role", "member"])
        .expect("set-role");
    assert_eq!(server.get("/api/v2/account", &bob_plain).1["data"]["role"], "member");
    server.admin(&["set-subscription", "--account-id", &account_id, "--status", "inactive"]).expect("set-subscription");
    assert_eq!(server.get("/api/v2/account", &bob_plain).1["data"]["account"]["subscriptionStatus"], "inactive");
    server.admin(&["remove-member", "--email", "bob@example.com", "--account-id", &account_id]).expect("remove-member");
    assert_eq!(server.get("/api/v2/account", &bob_plain).0, 401);

    // Mistakes get messages that say what is wrong.
    let unknown_scope = server
        .admin(&["create-token", "--email", "ada@example.com", "--name", "x", "--scope", "everything"])
        .expect_err("bad scope");
    assert!(unknown_scope.contains("valid scopes are") && unknown_scope.contains("knowledge:write"), "{unknown_scope}");
    let no_user = server.admin(&["verify-email", "--email", "nobody@example.com"]).expect_err("no user");
    assert!(no_user.contains("no user"), "{no_user}");
    let last_owner = server
        .admin(&["set-role", "--email", "ada@example.com", "--account-id", &account_id, "--role", "admin"])
        .expect_err("last owner");
    assert!(last_owner.contains("owner"), "{last_owner}");
    let duplicate = server
        .admin(&["create-user", "--email", "ada@example.com", "--password", "long enough"])
        .expect_err("duplicate");
    assert!(duplicate.contains("already exists"), "{duplicate}");
    // One password rule everywhere: what sign-up refuses, the command refuses.
    let short = server.admin(&["create-user", "--email", "eve@example.com", "--password", "x"]).expect_err("short");
    assert!(short.contains("--password: Use at least 8 characters."), "{short}");

    let logs = server.stop();
    assert!(logs.contains("\"route\":\"/api/v2/account\""), "access log is structured JSON");
    for secret in [&plaintext, &bob_plain] {
        assert!(!logs.contains(&secret[5..40]), "plaintext token in the server log");
    }
    assert!(!logs.contains("a long secret"));
    let mut database = Vec::new();
    for suffix in ["sitegpt.db", "sitegpt.db-wal"] {
        database.extend(std::fs::read(server_path(dir.path(), suffix)).unwrap_or_default());
    }
    assert!(!database.is_empty());
    for secret in [&plaintext, &bob_plain] {
        assert!(!database.windows(secret.len()).any(|w| w == secret.as_bytes()), "plaintext token in the database");
    }
    assert!(!database.windows(13).any(|w| w == b"a long secret"), "password in the database");
}

fn server_path(dir: &Path, file: &str) -> PathBuf {
    dir.join("data").join(file)
}

/// A v0 call to the served binary: status, body and the `Sunset` header.
fn v0_patch(server: &Server, path: &str, key: &str) -> (u16, Value, String) {
    let result =
        ureq::request("PATCH", &format!("{}{path}", server.base)).set("Authorization", &format!("Bearer {key}")).call();
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("request failed: {e}"),
    };
    let sunset = response.header("sunset").unwrap_or_default().to_owned();
    (response.status(), response.into_json().expect("JSON body"), sunset)
}

/// The operator sets up a whitelabel customer with the admin commands; the
/// customer's v0 key then works against the served binary.
#[test]
fn whitelabel_customers_are_set_up_with_admin_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let owner = server
        .admin(&["create-user", "--email", "wl@example.com", "--password", "a long secret", "--verified"])
        .expect("create-user");
    let account_id = owner["accountId"].as_str().expect("accountId").to_owned();
    let refused =
        server.admin(&["create-brand", "--account-id", &account_id, "--name", "Acme AI"]).expect_err("not yet");
    assert!(refused.contains("not a whitelabel account") && refused.contains("set-whitelabel"), "{refused}");
    let on = server.admin(&["set-whitelabel", "--account-id", &account_id]).expect("set-whitelabel");
    assert_eq!(on["whitelabel"], true);
    let brand = server.admin(&["create-brand", "--account-id", &account_id, "--name", "Acme AI"]).expect("brand");
    let brand_id = brand["brandId"].as_str().expect("brandId").to_owned();
    let first = server.admin(&["create-v0-key", "--email", "wl@example.com"]).expect("key");
    let first = first["apiKey"].as_str().expect("apiKey").to_owned();
    let second = server.admin(&["create-v0-key", "--email", "wl@example.com"]).expect("key");
    let second = second["apiKey"].as_str().expect("apiKey").to_owned();

    let path = format!("/api/v0/w/brands/{brand_id}/users/1/api-key");
    let (status, body, sunset) = v0_patch(&server, &path, &first);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("API_KEY_NOT_VALID")),
        "the first key was replaced"
    );
    assert_eq!(sunset, "Wed, 30 Jun 2027 23:59:59 GMT");
    let (status, body, _) = v0_patch(&server, &path, &second);
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("GENERATE_API_KEY_USER_NOT_FOUND")));
    let off = server.admin(&["set-whitelabel", "--account-id", &account_id, "--off"]).expect("off");
    assert_eq!(off["whitelabel"], false);
    let (status, body, _) = v0_patch(&server, &path, &second);
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("GENERATE_API_KEY_FORBIDDEN")));
    let log = server.stop();
    assert!(!log.contains(&first) && !log.contains(&second), "a v0 key is in the server log");
}

#[test]
fn help_lists_commands_with_examples() {
    let output = Command::new(BIN).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.contains("serve") && text.contains("admin") && text.contains("Examples"), "{text}");
    let output = Command::new(BIN).args(["admin", "create-token", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("--scope") && text.contains("Example"), "{text}");
}

/// A SQLite file is served by one process (the server keeps some of its
/// state in memory): a second `serve` on the same data is refused with what
/// to do, while admin commands still run beside the first; once the first
/// stops, a server starts again.
#[test]
fn a_second_server_on_one_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = Server::start(dir.path());
    let second = Command::new(BIN)
        .arg("serve")
        .env("SITEGPT_DATA_DIR", &first.data_dir)
        .env("SITEGPT_LISTEN", "127.0.0.1:0")
        .env_remove("SITEGPT_DATABASE_URL")
        .output()
        .expect("run a second server");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another sitegpt-server is serving"), "{stderr}");
    assert!(stderr.contains(&first.data_dir.join("sitegpt.db").display().to_string()), "{stderr}");
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    first
        .admin(&["create-user", "--email", "ada@example.com", "--password", "long enough", "--verified"])
        .expect("admin beside the server");
    let (status, _) = first.get("/api/v2/account", "not-a-token");
    assert_eq!(status, 401, "the first server still serves");
    first.stop();
    let again = Server::start(dir.path());
    again.stop();
}

/// An admin command run away from the server's data (the wrong folder, a
/// missing setting) is refused and says where it looked, instead of quietly
/// working on a new, empty database; `--create-database` makes one on purpose.
#[test]
fn admin_commands_refuse_to_create_a_database_unless_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = |args: &[&str]| {
        Command::new(BIN)
            .arg("admin")
            .args(args)
            .env("SITEGPT_DATA_DIR", dir.path())
            .env_remove("SITEGPT_DATABASE_URL")
            .output()
            .expect("run admin")
    };
    let create = ["create-user", "--email", "ada@example.com", "--password", "long enough", "--verified"];
    let refused = admin(&create);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    let file = dir.path().join("sitegpt.db");
    assert!(stderr.contains(&format!("there is no database at {}", file.display())), "{stderr}");
    assert!(stderr.contains("--data-dir") && stderr.contains("--create-database"), "{stderr}");
    assert!(!file.exists(), "nothing was created");

    let made = admin(&[&create[..], &["--create-database"]].concat());
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(file.exists());
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(stderr.contains(&format!("database: {} (SQLite)", file.display())), "{stderr}");
    let again = admin(&["verify-email", "--email", "ada@example.com"]);
    assert!(again.status.success(), "an existing database needs no flag");
}

#[test]
fn a_postgres_url_fails_clearly_until_that_engine_exists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["admin", "verify-email", "--email", "a@example.com"])
        .env("SITEGPT_DATA_DIR", dir.path())
        .env("SITEGPT_DATABASE_URL", "postgres://localhost/sitegpt")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("PostgreSQL"));
}

/// `admin migrate-to-postgres` moves a stopped SQLite installation into an
/// empty PostgreSQL database; the same tokens then work against it, and a
/// second run refuses the now non-empty target. Passwords in the URL are
/// not printed.
#[tokio::test]
async fn an_installation_moves_from_sqlite_to_postgres() {
    if crate::helpers::on_postgres() {
        return; // Once is enough: it starts on SQLite.
    }
    let Some(admin) = crate::helpers::postgres_test_url() else { return };
    let target = sitegpt_store::postgres::create_test_database(&admin).await.expect("database");
    // Trust authentication ignores the password; the output must still hide it.
    let with_password = target.url.replacen("postgres://postgres@", "postgres://postgres:hunter2-secret@", 1);
    assert_ne!(with_password, target.url, "the test URL names the postgres user");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    server
        .admin(&["create-user", "--email", "mover@example.com", "--password", "long enough secret", "--verified"])
        .expect("user");
    let created =
        server.admin(&["create-token", "--email", "mover@example.com", "--name", "before", "--scope", "account:read"]);
    let token = created.expect("token")["plaintextToken"].as_str().expect("plaintext").to_owned();
    assert_eq!(server.get("/api/v2/account", &token).0, 200);
    server.stop();

    let migrate = |url: &str| {
        Command::new(BIN)
            .args(["admin", "migrate-to-postgres", "--to", url])
            .env("SITEGPT_DATA_DIR", dir.path().join("data"))
            .env_remove("SITEGPT_DATABASE_URL")
            .output()
            .expect("run migrate-to-postgres")
    };
    let first = migrate(&with_password);
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(!stdout.contains("hunter2-secret"), "the password was printed: {stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["tables"]["users"], 1);
    assert_eq!(report["tables"]["api_tokens"], 1);
    assert_eq!(report["tables"]["memberships"], 1);

    let second = migrate(&target.url);
    assert!(!second.status.success(), "a second run must refuse");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already has data"), "{stderr}");

    let on_postgres = Server::start_on(dir.path(), Some(&target.url));
    let (status, body) = on_postgres.get("/api/v2/account", &token);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["email"], "mover@example.com");
    let (_, health) = on_postgres.get("/readyz", &token);
    assert_eq!(health["store"], "postgres");
    on_postgres.stop();
}

/// Runs `command` until its output (stdout, or stderr when `stderr`) holds
/// `wanted` or 30 seconds pass, then ends it; everything it printed.
fn output_until(mut command: Command, wanted: &str, stderr: bool) -> String {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = if stderr {
        command.stdout(Stdio::null()).stderr(Stdio::piped())
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::null())
    }
    .stdin(Stdio::piped())
    .spawn()
    .expect("start");
    let mut pipe: Box<dyn Read + Send> = if stderr {
        Box::new(child.stderr.take().expect("stderr"))
    } else {
        Box::new(child.stdout.take().expect("stdout"))
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = String::from_utf8_lossy(&seen.lock().expect("lock")).into_owned();
        if text.contains(wanted) || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // `script` runs the server in a session of its own, which outlives
    // `script` itself: end the children first.
    kill_tree(child.id());
    child.wait().expect("wait");
    text
}

/// The processes whose environment mentions `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|b| *b == 0)
                    .any(|var| var.ends_with(marker.as_bytes()) && var.starts_with(b"SITEGPT_DATA_DIR="))
            })
        })
        .collect()
}

/// Kills `pid` and every process under it (children first).
fn kill_tree(pid: u32) {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
        kill_tree(child);
    }
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

/// On a terminal, `serve` speaks text: its first-run hint is readable and
/// names the sign-up page. Piped, text logs carry no colour codes.
#[test]
fn serve_on_a_terminal_prints_a_readable_first_run_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    // `script` gives the server a terminal of its own.
    let mut command = Command::new("script");
    command
        .args(["-qfec", &format!("exec {BIN} serve"), "/dev/null"])
        .env("SITEGPT_DATA_DIR", dir.path().join("tty"))
        .env("SITEGPT_LISTEN", "127.0.0.1:0")
        .env("SITEGPT_PUBLIC_URL", "http://sitegpt.test")
        .env_remove("SITEGPT_LOG_FORMAT")
        .env_remove("SITEGPT_DATABASE_URL");
    let text = output_until(command, "/api/v2/account", false);
    let tty_dir = dir.path().join("tty").display().to_string();
    // SIGKILL is delivered at once but a process leaves /proc when it is
    // reaped: give that a moment before calling it left running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !processes_with(&tty_dir).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_with(&tty_dir), Vec::<u32>::new(), "the server under `script` was left running");
    assert!(text.contains("No accounts yet. Create the first one in a browser:"), "{text}");
    assert!(text.contains("    http://sitegpt.test/signup"), "{text}");
    assert!(text.contains("sitegpt-server is listening"), "{text}");
    assert!(!text.contains(r#""message":"#), "no JSON lines on a terminal: {text}");

    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("SITEGPT_DATA_DIR", dir.path().join("piped"))
        .env("SITEGPT_LISTEN", "127.0.0.1:0")
        .env("SITEGPT_LOG_FORMAT", "text")
        .env_remove("SITEGPT_DATABASE_URL");
    let text = output_until(command, "no users yet", true);
    assert!(text.contains("sitegpt-server is listening") && text.contains("/signup"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in piped text logs: {text:?}");
}
