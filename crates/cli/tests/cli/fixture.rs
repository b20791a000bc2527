//! A running server, a config folder, and ways to run the CLI against them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sitegpt_testkit::ServerProcess;

pub const CLI: &str = env!("CARGO_BIN_EXE_sitegpt");

/// `sitegpt-server`, built beside the CLI by `cargo test --workspace`.
pub fn server_binary() -> PathBuf {
    let path = Path::new(CLI).with_file_name("sitegpt-server");
    assert!(path.exists(), "{} is missing: run `cargo build -p sitegpt-server` first", path.display());
    path
}

pub struct Server {
    process: ServerProcess,
    pub dir: tempfile::TempDir,
    pub base: String,
    /// A PostgreSQL database when `SITEGPT_TEST_ENGINE=postgres`, else the
    /// SQLite default in `dir`.
    database_url: Option<String>,
    _database: Option<sitegpt_store::postgres::TestDatabase>,
}

/// A new database on the test PostgreSQL server, when the tests run there.
fn test_database() -> Option<sitegpt_store::postgres::TestDatabase> {
    if std::env::var("SITEGPT_TEST_ENGINE").ok()? != "postgres" {
        return None;
    }
    let admin = sitegpt_store::postgres::test_server_url(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    Some(runtime.block_on(sitegpt_store::postgres::create_test_database(&admin)).expect("a test database"))
}

/// Points a server command at the test database.
fn with_database(command: &mut Command, data_dir: &Path, database_url: Option<&str>) {
    command.env("SITEGPT_DATA_DIR", data_dir);
    match database_url {
        Some(url) => command.env("SITEGPT_DATABASE_URL", url),
        None => command.env_remove("SITEGPT_DATABASE_URL"),
    };
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = test_database();
        let database_url = database.as_ref().map(|d| d.url.clone());
        let mut command = Command::new(server_binary());
        with_database(&mut command, &dir.path().join("data"), database_url.as_deref());
        let process = ServerProcess::start(command, &dir.path().join("server.log"));
        let base = process.base.clone();
        Server { process, dir, base, database_url, _database: database }
    }

    pub fn admin(&self, args: &[&str]) -> Value {
        let mut command = Command::new(server_binary());
        with_database(&mut command, &self.dir.path().join("data"), self.database_url.as_deref());
        let output = command.arg("admin").args(args).output().expect("admin");
        assert!(output.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("json")
    }

    /// A verified owner with a password, and a token with `scopes`.
    pub fn user_with_token(&self, email: &str, scopes: &[&str]) -> (Value, String) {
        let user = self.admin(&["create-user", "--email", email, "--password", "correct horse battery", "--verified"]);
        (user, self.token(email, "fixture", scopes, &[]))
    }

    /// Another token of the user with `email`, restricted to `chatbots` when
    /// there are any: its plaintext.
    pub fn token(&self, email: &str, name: &str, scopes: &[&str], chatbots: &[&str]) -> String {
        let mut args = vec!["create-token", "--email", email, "--name", name];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        for chatbot in chatbots {
            args.extend(["--chatbot", chatbot]);
        }
        self.admin(&args)["plaintextToken"].as_str().expect("token").to_owned()
    }

    /// A chatbot in the account: its id.
    pub fn chatbot(&self, account_id: &str, name: &str) -> String {
        let created = self.admin(&["create-chatbot", "--account-id", account_id, "--name", name]);
        created["chatbotId"].as_str().expect("chatbot").to_owned()
    }

    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Runs `f` on this server's store, opened beside the running server.
    pub fn with_store(
        &self,
        f: impl FnOnce(&dyn sitegpt_store::Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let store: Box<dyn sitegpt_store::Store> = match &self.database_url {
                Some(url) => Box::new(sitegpt_store::postgres::PostgresStore::connect(url).await.expect("store")),
                None => Box::new(
                    sitegpt_store::sqlite::SqliteStore::open(&self.dir.path().join("data").join("sitegpt.db"))
                        .expect("store"),
                ),
            };
            f(store.as_ref()).await;
        });
    }

    /// A visitor's conversation with one message under `chatbot`: its id.
    pub fn conversation(&self, account_id: &str, chatbot_id: &str) -> String {
        use sitegpt_access::id::{IdKind, new_id};
        let id = new_id(IdKind::Conversation);
        let now = chrono::Utc::now();
        let conversation = sitegpt_store::Conversation {
            id: id.clone(),
            account_id: account_id.into(),
            chatbot_id: chatbot_id.into(),
            status: "open".into(),
            visitor: "visitor@example.com".into(),
            created_at: now,
            updated_at: now,
        };
        let message = sitegpt_store::Message {
            id: new_id(IdKind::Message),
            conversation_id: id.clone(),
            role: "visitor".into(),
            content: "When do you open?".into(),
            created_at: now,
        };
        self.with_store(|store| {
            Box::pin(async move {
                store.insert_conversation(conversation, vec![message]).await.expect("conversation");
            })
        });
        id
    }

    /// A token of the user `create-user` answered with, stored with an
    /// expiry in the past (no command makes one): its plaintext.
    pub fn expired_token(&self, user: &Value) -> String {
        use sitegpt_access::id::{IdKind, new_id};
        use sitegpt_access::{ChatbotRestriction, CreatedVia, PlainToken, Scope};
        use sitegpt_store::NewToken;
        let plain = PlainToken::generate();
        let now = chrono::Utc::now();
        let token = NewToken {
            id: new_id(IdKind::Token),
            account_id: user["accountId"].as_str().expect("account").into(),
            user_id: user["userId"].as_str().expect("user").into(),
            name: "expired".into(),
            hash: plain.hash(),
            hint: plain.hint(),
            scopes: [Scope::AccountRead].into_iter().collect(),
            chatbots: ChatbotRestriction::unrestricted(),
            created_via: CreatedVia::Admin,
            now: now - chrono::Duration::days(10),
            expires_at: now - chrono::Duration::days(1),
            allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
        };
        self.with_store(|store| {
            Box::pin(async move {
                store.insert_token(token, &sitegpt_store::Actor::system()).await.expect("insert");
            })
        });
        plain.expose()
    }
}

/// A config folder and the environment the CLI runs in.
pub struct Cli {
    pub config: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    pub fn error_json(&self) -> Value {
        serde_json::from_str(&self.stderr).unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl Cli {
    pub fn new(server: &Server) -> Cli {
        let config = tempfile::tempdir().expect("config dir");
        let mut env = BTreeMap::new();
        env.insert("SITEGPT_API_URL".into(), server.base.clone());
        Cli { config, env }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config.path().join("sitegpt").join("config.json")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        command.env("XDG_CONFIG_HOME", self.config.path()).env("HOME", self.config.path());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let Output { status, stdout, stderr } = self.command(args).stdin(Stdio::null()).output().expect("run sitegpt");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// Runs tmux on its own server socket (installed by scripts/test.sh).
pub fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux").arg("-L").arg(socket).args(args).output().expect("tmux (installed by scripts/test.sh)")
}

/// A command in a terminal (tmux), its screen read until `done` appears.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    pub fn start(name: &str, command: &str) -> Terminal {
        let socket = format!("sitegpt-{name}-{}", std::process::id());
        let started = tmux(&socket, &["new-session", "-d", "-s", "t", "-x", "160", "-y", "40", command]);
        assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
        Terminal { socket }
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&self.socket, &["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits (20 s at most) until the screen contains `text`.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(std::time::Instant::now() < deadline, "no `{text}` on screen:\n{screen}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn type_line(&self, line: &str) {
        tmux(&self.socket, &["send-keys", "-t", "t", line, "Enter"]);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        tmux(&self.socket, &["kill-server"]);
    }
}
