//! `TestApp`: the real router on a fresh SQLite file, with typed helpers.
//! Logs from every test go to one in-memory buffer so tests can check that
//! no secret reached them (set `TEST_LOG=1` to also see them).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{ChatbotRestriction, CreatedVia, PlainToken, Role, Scope, ScopeSet, SubscriptionStatus};
use sitegpt_server::clients::DocumentFetch;
use sitegpt_server::config::{IntrospectionClients, Settings, TrustedProxies};
use sitegpt_server::mail::Mailer;
use sitegpt_server::router::router;
use sitegpt_server::scanning_keys::ScanningKeys;
use sitegpt_server::state::{AppState, ServerConfig};
use sitegpt_store::{NewMembership, NewToken, NewUser, Store};
use tower::ServiceExt;

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() -> Arc<Mutex<Vec<u8>>> {
    Arc::clone(LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = BufferWriter(Arc::clone(&buffer));
        tracing_subscriber::fmt()
            .with_env_filter(sitegpt_server::logging::filter("trace"))
            .json()
            .with_writer(move || writer.clone())
            .try_init()
            .expect("one subscriber per test binary");
        buffer
    }))
}

/// Everything logged so far by any test in this binary.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&init_logs().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub account_id: String,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a status and error code, with the body in the failure message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!((self.status.as_u16(), self.code()), (status, code), "body: {}", self.body);
        assert_eq!(self.body["ok"], false);
        assert!(self.body["meta"]["requestId"].is_string());
    }

    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["ok"], true, "body: {}", self.body);
        &self.body["data"]
    }
}

pub struct TestApp {
    pub state: AppState,
    router: Router,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database, when the tests run on that engine.
    pub database_url: Option<String>,
    pg_dump: tokio::sync::OnceCell<PgDump>,
    counter: std::sync::atomic::AtomicUsize,
    /// Dropped last, after the app's connections.
    database: Option<sitegpt_store::postgres::TestDatabase>,
}

/// The engine these tests run on: SQLite (a file in the app's folder) unless
/// `SITEGPT_TEST_ENGINE=postgres`, then a new database on the server that
/// `SITEGPT_TEST_POSTGRES_URL` names.
pub fn on_postgres() -> bool {
    std::env::var("SITEGPT_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// The test PostgreSQL server's URL (required when running on it).
pub fn postgres_test_url() -> Option<String> {
    sitegpt_store::postgres::test_server_url(on_postgres())
}

async fn test_database() -> Option<sitegpt_store::postgres::TestDatabase> {
    if !on_postgres() {
        return None;
    }
    let admin = postgres_test_url()?;
    Some(sitegpt_store::postgres::create_test_database(&admin).await.expect("create a test database"))
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_public_url("http://api.test").await
    }

    pub async fn with_public_url(public_url: &str) -> TestApp {
        TestApp::with_mail(public_url, None).await
    }

    /// With `smtp_url`, mail goes over SMTP instead of to the outbox.
    pub async fn with_mail(public_url: &str, smtp_url: Option<&str>) -> TestApp {
        let database = test_database().await;
        let url = database.as_ref().map(|d| d.url.clone());
        let mut app = TestApp::build(public_url, smtp_url, url, DocumentFetch::default(), "", None).await;
        app.database = database;
        app
    }

    /// Fetching client metadata documents as `documents` says.
    pub async fn with_documents(documents: DocumentFetch) -> TestApp {
        let database = test_database().await;
        let url = database.as_ref().map(|d| d.url.clone());
        let mut app = TestApp::build("http://api.test", None, url, documents, "", None).await;
        app.database = database;
        app
    }

    /// Behind proxies at `trusted` (CIDR blocks, as `SITEGPT_TRUSTED_PROXIES`).
    pub async fn behind_proxies(trusted: &str) -> TestApp {
        let database = test_database().await;
        let url = database.as_ref().map(|d| d.url.clone());
        let mut app = TestApp::build("http://api.test", None, url, DocumentFetch::default(), trusted, None).await;
        app.database = database;
        app
    }

    /// Accepting leaked-token reports signed by `keys`.
    pub async fn with_secret_scanning(keys: ScanningKeys) -> TestApp {
        let database = test_database().await;
        let url = database.as_ref().map(|d| d.url.clone());
        let mut app = TestApp::build("http://api.test", None, url, DocumentFetch::default(), "", Some(keys)).await;
        app.database = database;
        app
    }

    /// A second server node on this app's database, with its own caches.
    pub async fn another_node(&self) -> TestApp {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.db_path().display()),
        };
        TestApp::build("http://api.test", None, Some(url), DocumentFetch::default(), "", None).await
    }

    async fn build(
        public_url: &str,
        smtp_url: Option<&str>,
        database_url: Option<String>,
        documents: DocumentFetch,
        trusted_proxies: &str,
        secret_scanning: Option<ScanningKeys>,
    ) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let from = "SiteGPT <no-reply@api.test>";
        let mailer = match smtp_url {
            Some(url) => Mailer::smtp(url, from).expect("smtp mailer"),
            None => Mailer::outbox(dir.path().join("outbox"), from).expect("mailer"),
        };
        let mut settings = Settings::for_data_dir(dir.path().to_owned());
        settings.database_url = database_url;
        let store = settings.open_store().await.expect("store");
        // On PostgreSQL, until the node hears notifications its cache lives
        // only a quarter of a second; tests start once it listens.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while store.hears_other_nodes() == Some(false) {
            assert!(std::time::Instant::now() < deadline, "the node never started listening");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let config = ServerConfig {
            public_url: public_url.into(),
            introspection_clients: IntrospectionClients::parse("resource-server:introspection-secret-1")
                .expect("clients"),
            mailer,
            default_subscription: SubscriptionStatus::Active,
            token_cache: sitegpt_server::auth::CACHE_CAPACITY,
            documents,
            trusted_proxies: TrustedProxies::parse(trusted_proxies).expect("trusted proxies"),
            secret_scanning,
            audit_retention: chrono::Duration::days(i64::from(sitegpt_server::config::AUDIT_RETENTION_DAYS)),
        };
        let state = AppState::new(store, config);
        let database_url = settings.database_url.filter(|url| url.starts_with("postgres"));
        TestApp {
            router: router(state.clone()),
            state,
            dir,
            database_url,
            pg_dump: Default::default(),
            counter: Default::default(),
            database: None,
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("sitegpt.db")
    }

    fn next_email(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{n}@example.com")
    }

    /// A verified owner of a new, active account.
    pub async fn owner(&self) -> TestUser {
        self.new_user(None, true).await
    }

    /// A verified user with `role` in `account_id`.
    pub async fn member(&self, account_id: &str, role: Role) -> TestUser {
        self.new_user(Some((account_id, role)), true).await
    }

    pub async fn new_user(&self, membership: Option<(&str, Role)>, verified: bool) -> TestUser {
        let email = self.next_email("user");
        let membership = match membership {
            Some((account_id, role)) => NewMembership::Existing { account_id: account_id.into(), role },
            None => NewMembership::NewAccount { name: "Test team".into(), subscription: SubscriptionStatus::Active },
        };
        let (user, account) = self
            .store()
            .create_user(NewUser {
                email: email.clone(),
                password_hash: "$argon2id$not-a-real-hash".into(),
                email_verified: verified,
                membership,
                now: Utc::now(),
            })
            .await
            .expect("create user");
        TestUser { id: user.id, email, account_id: account.id }
    }

    pub async fn chatbot(&self, account_id: &str) -> String {
        self.store().create_chatbot(account_id, "Support bot", Utc::now()).await.expect("chatbot").id
    }

    /// A token for `user` stored directly (no issuance rules), so tests can
    /// set up any state, including ones the API would refuse to create.
    pub async fn raw_token(
        &self,
        user: &TestUser,
        scopes: ScopeSet,
        chatbots: &[&str],
        expires_at: DateTime<Utc>,
    ) -> (String, String) {
        let plain = PlainToken::generate();
        let record = self
            .store()
            .insert_token(
                NewToken {
                    id: new_id(IdKind::Token),
                    account_id: user.account_id.clone(),
                    user_id: user.id.clone(),
                    name: "fixture".into(),
                    hash: plain.hash(),
                    hint: plain.hint(),
                    scopes,
                    chatbots: ChatbotRestriction::from_ids(chatbots.iter().map(|s| s.to_string()).collect()),
                    created_via: CreatedVia::Admin,
                    now: Utc::now(),
                    expires_at,
                    allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
                },
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("insert token");
        (record.id, plain.expose())
    }

    /// A live token for `user` with `scopes`, valid for a year (so tokens it
    /// creates may have any lifetime): `(id, plaintext)`.
    pub async fn token(&self, user: &TestUser, scopes: &[Scope]) -> (String, String) {
        self.raw_token(user, scopes.iter().copied().collect(), &[], Utc::now() + Duration::days(366)).await
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    /// Sends a request and returns the raw response parts with the body as text.
    pub async fn send_text(&self, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Delivers the mail that is due, as the server's worker would.
    pub async fn deliver_mail(&self) -> usize {
        self.state.mail.deliver_due().await
    }

    /// Every message in the outbox, oldest first, after delivering what is due.
    pub async fn outbox(&self) -> Vec<String> {
        self.deliver_mail().await;
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("outbox")) else { return Vec::new() };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read_to_string(p).expect("mail")).collect()
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&bytes)))
        };
        TestResponse { status, headers, body }
    }

    /// One JSON-RPC request to `/mcp` (protocol 2025-06-18, stateless),
    /// with an optional bearer token.
    pub async fn mcp(&self, token: Option<&str>, method: &str, params: Value) -> TestResponse {
        self.mcp_from(None, token, method, params).await
    }

    /// An MCP message from the TCP peer `address` (`ip:port`), if given.
    pub async fn mcp_from(
        &self,
        address: Option<&str>,
        token: Option<&str>,
        method: &str,
        params: Value,
    ) -> TestResponse {
        let message = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("host", "api.test");
        // After the handshake, a client names the revision on every request.
        if method != "initialize" {
            builder = builder.header("mcp-protocol-version", "2025-06-18");
        }
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let mut request = builder.body(Body::from(message.to_string())).expect("request");
        if let Some(address) = address {
            let peer: std::net::SocketAddr = address.parse().expect("address");
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        }
        self.send(request).await
    }

    /// `tools/call`: the JSON-RPC response (the HTTP answer when not 200).
    pub async fn call_tool(&self, token: &str, name: &str, arguments: Value) -> TestResponse {
        self.mcp(Some(token), "tools/call", serde_json::json!({"name": name, "arguments": arguments})).await
    }

    /// A form-encoded POST, with an optional `Authorization` header value.
    pub async fn form(&self, path: &str, pairs: &[(&str, &str)], authorization: Option<&str>) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let mut builder = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        self.send(builder.body(Body::from(body)).expect("request")).await
    }

    /// A form-encoded POST from the TCP peer `address` (`ip:port`).
    pub async fn form_from(&self, path: &str, pairs: &[(&str, &str)], address: &str) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let mut request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let peer: std::net::SocketAddr = address.parse().expect("address");
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        self.send(request).await
    }

    /// A GET with `token` from the TCP peer `address` (`ip:port`), with extra headers.
    pub async fn get_from(&self, path: &str, token: &str, address: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request_from(Method::GET, path, token, address, headers, None).await
    }

    /// A request with `token` from the TCP peer `address` (`ip:port`), with
    /// extra headers and a JSON body.
    pub async fn request_from(
        &self,
        method: Method,
        path: &str,
        token: &str,
        address: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        let mut builder =
            Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).expect("request");
        let peer: std::net::SocketAddr = address.parse().expect("address");
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    /// A POST without a body (rotate, revoke).
    pub async fn post_empty(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::POST, path, Some(token), None).await
    }

    /// Every byte of the database, WAL included.
    /// Every row of every table as text, without the columns named in
    /// `skip`, in a stable order: for comparing the store before and after.
    pub async fn dump(&self, skip: &[&str]) -> String {
        match &self.database_url {
            Some(url) => {
                let dumper = self.pg_dump.get_or_init(|| PgDump::connect(url)).await;
                dumper.dump(skip).await
            }
            None => dump_sqlite(&self.db_path(), skip),
        }
    }

    /// How many rows `table` holds, on either engine.
    pub async fn count_rows(&self, table: &str) -> usize {
        let prefix = format!("{table}: ");
        self.dump(&[]).await.lines().filter(|line| line.starts_with(&prefix)).count()
    }

    /// What the database keeps, to search for secrets: the SQLite file with
    /// its WAL, or every PostgreSQL row as text (hashes show as hex).
    pub async fn database_bytes(&self) -> Vec<u8> {
        if self.database_url.is_some() {
            return self.dump(&[]).await.into_bytes();
        }
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", self.db_path().display());
            if let Ok(content) = std::fs::read(path) {
                bytes.extend(content);
            }
        }
        bytes
    }

    pub async fn count_tokens(&self, account_id: &str) -> usize {
        self.tokens_of(account_id).await.len()
    }

    /// Runs SQL on the app's database directly (to set up states the store
    /// refuses, or to break it).
    pub async fn execute_sql(&self, sql: &str) {
        match &self.database_url {
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
                tokio::spawn(connection);
                client.batch_execute(sql).await.expect("sql");
            }
            None => rusqlite::Connection::open(self.db_path()).expect("open").execute_batch(sql).expect("sql"),
        }
    }

    /// Every token of the account, revoked ones too.
    pub async fn tokens_of(&self, account_id: &str) -> Vec<sitegpt_store::TokenRecord> {
        self.store()
            .list_tokens(sitegpt_store::TokenQuery {
                account_id: account_id.into(),
                user_id: None,
                include_revoked: true,
                limit: 10_000,
                after: None,
            })
            .await
            .expect("list")
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

pub fn full() -> ScopeSet {
    ScopeSet::all()
}

/// A page as a browser gets it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf` input.
    pub fn csrf(&self) -> String {
        self.field("csrf")
    }

    /// The value of the first input named `name`.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no {name} field in:\n{}", self.body)) + marker.len();
        self.body[start..].split('"').next().expect("value").to_owned()
    }

    /// The token secret shown on the page.
    pub fn plaintext(&self) -> String {
        let start = self.body.find("value=\"sgpt_").unwrap_or_else(|| panic!("no secret in:\n{}", self.body)) + 7;
        self.body[start..].split('"').next().expect("value").to_owned()
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "{text:?} not in page ({}):\n{}", self.status, self.body);
    }
}

/// A cookie-keeping client for the pages, from one client address.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: std::collections::BTreeMap<String, String>,
    pub address: std::net::SocketAddr,
    pub set_cookie_headers: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser::from_address(app, "127.0.0.1:40000")
    }

    pub fn from_address(app: &'a TestApp, address: &str) -> Browser<'a> {
        Browser {
            app,
            cookies: Default::default(),
            address: address.parse().expect("address"),
            set_cookie_headers: Vec::new(),
        }
    }

    async fn send(&mut self, mut request: Request<Body>) -> Page {
        if !self.cookies.is_empty() {
            let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request.headers_mut().insert("cookie", header.parse().expect("cookie header"));
        }
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.address));
        let (status, headers, body) = self.app.send_text(request).await;
        for value in headers.get_all("set-cookie") {
            let value = value.to_str().expect("ascii").to_owned();
            let pair = value.split(';').next().expect("pair");
            let (name, cookie) = pair.split_once('=').expect("name=value");
            if value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), cookie.to_owned());
            }
            self.set_cookie_headers.push(value);
        }
        Page { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).expect("request")).await
    }

    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    /// Signs up through the pages, signs in (still unverified), and returns
    /// the verification link from the outbox.
    pub async fn sign_up(&mut self, email: &str, password: &str) -> String {
        let form = self.get("/signup").await;
        let csrf = form.csrf();
        let done =
            self.post("/signup", &[("csrf", &csrf), ("email", email), ("password", password), ("team", "")]).await;
        assert_eq!(done.status.as_u16(), 200, "{}", done.body);
        done.assert_contains("Check your inbox");
        let mail = self
            .app
            .outbox()
            .await
            .into_iter()
            .rev()
            .find(|m| m.contains(&email.to_lowercase()))
            .expect("a verification mail");
        let path = mail.find("/verify-email?token=").expect("link");
        let start = mail[..path].rfind(char::is_whitespace).expect("link start") + 1;
        let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
        self.sign_in(email, password).await;
        link
    }

    /// Signs in through the sign-in page.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let csrf = self.get("/login").await.csrf();
        let done = self.post("/login", &[("csrf", &csrf), ("email", email), ("password", password)]).await;
        assert_eq!(done.status.as_u16(), 303, "{}", done.body);
    }

    /// Opens a verification link (only its path and query).
    pub async fn open_link(&mut self, link: &str) -> Page {
        let path = &link[link.find("/verify-email").expect("path")..];
        self.get(path).await
    }
}

fn dump_sqlite(path: &std::path::Path, skip: &[&str]) -> String {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    tables.retain(|t| !t.starts_with("sqlite_"));
    let mut dump = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).expect("select");
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let rows = stmt
            .query_map([], |row| {
                let mut cells = Vec::new();
                for (i, column) in columns.iter().enumerate() {
                    if !skip.contains(&column.as_str()) {
                        cells.push(format!("{:?}", row.get_ref(i)?));
                    }
                }
                Ok(cells.join("|"))
            })
            .expect("rows");
        for row in rows {
            dump.push_str(&format!("{table}: {}\n", row.expect("row")));
        }
    }
    dump
}

/// One connection to the test database, and one query reading every table.
#[derive(Debug)]
struct PgDump {
    client: tokio_postgres::Client,
    query: String,
}

impl PgDump {
    async fn connect(url: &str) -> PgDump {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
                &[],
            )
            .await
            .expect("tables");
        let query = tables
            .iter()
            .map(|row| {
                let table: String = row.get(0);
                format!("SELECT '{table}: ' || (to_jsonb(t) - $1::text[])::text AS line FROM {table} t")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
            + " ORDER BY 1";
        PgDump { client, query }
    }

    async fn dump(&self, skip: &[&str]) -> String {
        let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
        let rows = self.client.query(&self.query, &[&skip]).await.expect("rows");
        rows.iter().map(|row| format!("{}\n", row.get::<_, String>(0))).collect()
    }
}

/// The real application on a TCP port of its own, on a fresh SQLite file,
/// for clients that speak HTTP themselves.
pub struct TcpServer {
    pub base: String,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TcpServer {
    pub async fn start() -> TcpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = sitegpt_server::app::Application::build(&Settings::for_data_dir(dir.path().to_owned()))
            .await
            .expect("build");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        TcpServer { base, state, shutdown: Some(shutdown), server: Some(server), _dir: dir }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.state.store)
    }

    /// Stops the server and checks that it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).expect("stop");
        }
        if let Some(server) = self.server.take() {
            server.await.expect("join").expect("server stopped cleanly");
        }
    }
}
