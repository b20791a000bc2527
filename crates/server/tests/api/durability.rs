//! Acknowledged means kept: while clients create tokens through the API and
//! redeem device logins, the real server binary is killed with SIGKILL at a
//! random moment, several times; after each restart every token whose
//! creation was answered exists and authenticates. On the engine the suite
//! runs on (SQLite, or PostgreSQL in the suite's second pass).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use sitegpt_store::{DeviceDecision, Store};
use sitegpt_testkit::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_sitegpt-server");
/// Kills and restarts.
const CRASHES: usize = 4;
/// Clients creating tokens at once.
const CREATORS: usize = 6;

struct Installation {
    dir: tempfile::TempDir,
    database_url: Option<String>,
    /// Keeps the PostgreSQL database for the test's length.
    _database: Option<sitegpt_store::postgres::TestDatabase>,
}

impl Installation {
    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.env("SITEGPT_DATA_DIR", self.data_dir()).env("SITEGPT_LOG", "info");
        match &self.database_url {
            Some(url) => command.env("SITEGPT_DATABASE_URL", url),
            None => command.env_remove("SITEGPT_DATABASE_URL"),
        };
        command
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn start(&self, round: usize) -> ServerProcess {
        ServerProcess::start(self.command(), &self.dir.path().join(format!("server-{round}.log")))
    }

    fn admin(&self, args: &[&str]) -> Value {
        let output = self.command().arg("admin").args(args).output().expect("admin");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("JSON")
    }

    /// A handle on the database from this process, as an operator's tool
    /// or another node would have.
    async fn store(&self) -> Arc<dyn Store> {
        match &self.database_url {
            Some(url) => Arc::new(sitegpt_store::postgres::PostgresStore::connect(url).await.expect("connect")),
            None => {
                Arc::new(sitegpt_store::sqlite::SqliteStore::open(&self.data_dir().join("sitegpt.db")).expect("open"))
            }
        }
    }
}

async fn installation() -> Installation {
    let dir = tempfile::tempdir().expect("temp dir");
    if crate::helpers::on_postgres() {
        let admin = crate::helpers::postgres_test_url().expect("PostgreSQL");
        let database = sitegpt_store::postgres::create_test_database(&admin).await.expect("database");
        return Installation { dir, database_url: Some(database.url.clone()), _database: Some(database) };
    }
    Installation { dir, database_url: None, _database: None }
}

/// A POST with a JSON body; `None` when there was no answer (the server died).
fn post_json(url: &str, token: &str, body: &Value) -> Option<(u16, Value)> {
    let request = ureq::post(url).timeout(Duration::from_secs(5)).set("Authorization", &format!("Bearer {token}"));
    answer(request.send_json(body.clone()))
}

fn post_form(url: &str, pairs: &[(&str, &str)]) -> Option<(u16, Value)> {
    answer(ureq::post(url).timeout(Duration::from_secs(5)).send_form(pairs))
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Option<(u16, Value)> {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(_)) => return None,
    };
    let status = response.status();
    // A body cut off by the kill is no answer either.
    response.into_json().ok().map(|body| (status, body))
}

/// Creates tokens until the server stops answering; each acknowledged
/// plaintext is recorded.
fn create_tokens(base: &str, manager: &str, acknowledged: &Mutex<Vec<String>>) {
    for n in 0.. {
        let body = json!({"name": format!("crash test {n}"), "scopes": ["account:read"]});
        match post_json(&format!("{base}/api/v2/tokens"), manager, &body) {
            Some((201, data)) => {
                let secret = data["data"]["plaintextToken"].as_str().expect("plaintext").to_owned();
                acknowledged.lock().expect("lock").push(secret);
            }
            Some((status, data)) => panic!("creating a token answered {status}: {data}"),
            None => return,
        }
    }
}

/// Device logins, each approved through `store` and redeemed by one poll,
/// until the server stops answering or `max` are done.
async fn redeem_device_logins(
    base: String,
    store: Arc<dyn Store>,
    approver: (String, String),
    max: usize,
    acknowledged: Arc<Mutex<Vec<String>>>,
    redeemed: Arc<AtomicUsize>,
) {
    for _ in 0..max {
        let base_for_thread = base.clone();
        let started = tokio::task::spawn_blocking(move || {
            post_form(&format!("{base_for_thread}/oauth/device_authorization"), &[("client_id", "sitegpt-cli")])
        });
        let Some((200, started)) = started.await.expect("join") else { return };
        let user_code = started["user_code"].as_str().expect("user code").to_owned();
        let device_code = started["device_code"].as_str().expect("device code").to_owned();
        let Ok(code) = sitegpt_access::device::UserCode::parse(&user_code) else { panic!("user code {user_code}") };
        let Ok(Some(device)) = store.device_by_user_code(code.normalized()).await else { return };
        let approve = DeviceDecision::Approve { user_id: approver.0.clone(), account_id: approver.1.clone() };
        if store.decide_device(&device.id, approve, Utc::now()).await.is_err() {
            return;
        }
        let base_for_thread = base.clone();
        let polled = tokio::task::spawn_blocking(move || {
            let pairs = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code.as_str()),
                ("client_id", "sitegpt-cli"),
            ];
            post_form(&format!("{base_for_thread}/oauth/token"), &pairs)
        });
        match polled.await.expect("join") {
            Some((200, tokens)) => {
                acknowledged.lock().expect("lock").push(tokens["access_token"].as_str().expect("token").to_owned());
                redeemed.fetch_add(1, Ordering::Relaxed);
            }
            Some((status, body)) => panic!("redeeming a device login answered {status}: {body}"),
            None => return,
        }
    }
}

fn authenticates(base: &str, token: &str) -> bool {
    let result = ureq::get(&format!("{base}/api/v2/account")).set("Authorization", &format!("Bearer {token}")).call();
    matches!(result, Ok(response) if response.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_token_survives_sigkill() {
    let install = installation().await;
    // The first start makes the database; then an owner and a token to mint with.
    install.start(0).stop();
    let user =
        install.admin(&["create-user", "--email", "crash@example.com", "--password", "crash test pass", "--verified"]);
    let approver =
        (user["userId"].as_str().expect("user").to_owned(), user["accountId"].as_str().expect("account").to_owned());
    let manager = install.admin(&[
        "create-token",
        "--email",
        "crash@example.com",
        "--name",
        "manager",
        "--scope",
        "account:read",
        "--scope",
        "tokens:write",
        "--expires-in-days",
        "30",
    ]);
    let manager = manager["plaintextToken"].as_str().expect("plaintext").to_owned();
    let store = install.store().await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));

    let redeemed = Arc::new(AtomicUsize::new(0));
    for round in 1..=CRASHES {
        let made_before = acknowledged.lock().expect("lock").len();
        let redeemed_before = redeemed.load(Ordering::Relaxed);
        let server = install.start(round);
        let base = server.base.clone();
        let creators: Vec<_> = (0..CREATORS)
            .map(|_| {
                let (base, manager, acknowledged) = (base.clone(), manager.clone(), Arc::clone(&acknowledged));
                std::thread::spawn(move || create_tokens(&base, &manager, &acknowledged))
            })
            .collect();
        let devices = tokio::spawn(redeem_device_logins(
            base.clone(),
            Arc::clone(&store),
            approver.clone(),
            5,
            Arc::clone(&acknowledged),
            Arc::clone(&redeemed),
        ));
        // Once both kinds of writes are under way, kill it at a random moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let made = acknowledged.lock().expect("lock").len() - made_before;
            if made >= 5 && redeemed.load(Ordering::Relaxed) > redeemed_before {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "round {round}: {made} tokens made in 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let wait = rand::thread_rng().gen_range(0..400);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.crash();
        for creator in creators {
            creator.join().expect("creator");
        }
        devices.await.expect("device logins");
    }

    let server = install.start(CRASHES + 1);
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let count = acknowledged.len();
    let base = server.base.clone();
    let lost =
        tokio::task::spawn_blocking(move || acknowledged.iter().filter(|token| !authenticates(&base, token)).count());
    let lost = lost.await.expect("join");
    assert_eq!(lost, 0, "{lost} of {count} acknowledged tokens were lost across {CRASHES} SIGKILLs");
    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
    let device_logins = redeemed.load(Ordering::Relaxed);
    eprintln!("{count} acknowledged tokens ({device_logins} by device login), all kept across {CRASHES} SIGKILLs");
}
