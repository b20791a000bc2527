//! The store test suite. Every test takes an engine through `Arc<dyn Store>`,
//! so each engine runs the same tests.

mod accounts;
mod audit;
mod concurrency;
mod group_commit;
mod mail;
mod migrate;
mod nodes;
mod oauth;
mod polls;
mod pulse;
mod sessions;
mod tls;
mod tokens;
mod whitelabel;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{ChatbotRestriction, CreatedVia, PlainToken, ScopeSet, SubscriptionStatus};
use sitegpt_store::postgres::PostgresStore;
use sitegpt_store::sqlite::SqliteStore;
use sitegpt_store::{Account, NewMembership, NewToken, NewUser, Store, TokenRecord, User};

/// A fresh store in its own temporary folder.
#[derive(Debug)]
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database's URL; `None` for SQLite.
    pub postgres_url: Option<String>,
    /// Drops the PostgreSQL database after the store (fields drop in order).
    pub database: Option<sitegpt_store::postgres::TestDatabase>,
}

impl TestStore {
    /// A second handle on the same database, as another process or node
    /// would have.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        match &self.postgres_url {
            Some(url) => {
                let store = PostgresStore::connect(url).await.expect("second handle");
                wait_listening(&store).await;
                Arc::new(store)
            }
            None => Arc::new(SqliteStore::open(&self.path()).expect("second handle")),
        }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("sitegpt.db")
    }

    pub async fn owner(&self, email: &str) -> (User, Account) {
        self.store
            .create_user(NewUser {
                email: email.into(),
                password_hash: "$argon2id$fake".into(),
                email_verified: true,
                membership: NewMembership::NewAccount {
                    name: format!("{email}'s team"),
                    subscription: SubscriptionStatus::Active,
                },
                now: Utc::now(),
            })
            .await
            .expect("create owner")
    }

    /// A verified user joining `account` with `role`.
    pub async fn member(&self, account: &Account, email: &str, role: sitegpt_access::Role) -> User {
        let membership = NewMembership::Existing { account_id: account.id.clone(), role };
        let new = NewUser {
            email: email.into(),
            password_hash: "h".into(),
            email_verified: true,
            membership,
            now: Utc::now(),
        };
        self.store.create_user(new).await.expect("create member").0
    }

    pub async fn token(&self, user: &User, account: &Account, scopes: ScopeSet) -> (TokenRecord, PlainToken) {
        let plain = PlainToken::generate();
        let record = self
            .store
            .insert_token(new_token(user, account, &plain, scopes, Utc::now()), &sitegpt_store::Actor::system())
            .await
            .expect("insert");
        (record, plain)
    }
}

impl TestStore {
    /// A device authorization of `sitegpt-cli` that `user` approved for
    /// `account` at `now`: its device code.
    pub async fn approved_device(
        &self,
        user: &User,
        account: &Account,
        now: DateTime<Utc>,
    ) -> sitegpt_access::device::DeviceCode {
        let user_code = sitegpt_access::device::UserCode::generate();
        let (new, device_code) = new_device(user_code.normalized(), now);
        let created = self.store.create_device_authorization(new).await.expect("create");
        let approve =
            sitegpt_store::DeviceDecision::Approve { user_id: user.id.clone(), account_id: account.id.clone() };
        self.store.decide_device(&created.id, approve, now).await.expect("approve");
        device_code
    }
}

/// A pending device authorization of `sitegpt-cli` for `user_code`, begun
/// at `now` (ten minutes to go), and its device code.
pub fn new_device(
    user_code: &str,
    now: DateTime<Utc>,
) -> (sitegpt_store::NewDeviceAuthorization, sitegpt_access::device::DeviceCode) {
    let id = sitegpt_access::id::new_sorted_id(IdKind::Device);
    let code = sitegpt_access::device::DeviceCode::generate(&id);
    let new = sitegpt_store::NewDeviceAuthorization {
        id,
        device_code_hash: code.hash(),
        user_code: user_code.into(),
        client_id: "sitegpt-cli".into(),
        scopes: sitegpt_access::AccessLevel::Standard.scopes(),
        chatbots: ChatbotRestriction::unrestricted(),
        token_name: None,
        now,
        expires_at: now + Duration::minutes(10),
        interval_secs: 5,
    };
    (new, code)
}

/// A poll of the token endpoint for `code` at `at` (with a fresh token to
/// store if it is approved).
pub fn device_poll(code: &sitegpt_access::device::DeviceCode, at: DateTime<Utc>) -> sitegpt_store::DevicePoll {
    let plain = PlainToken::generate();
    sitegpt_store::DevicePoll {
        device_id: code.device_id().expect("a code of this server names its authorization").to_owned(),
        device_code_hash: code.hash(),
        client_id: "sitegpt-cli".into(),
        now: at,
        token_id: new_id(IdKind::Token),
        token_hash: plain.hash(),
        token_hint: plain.hint(),
        default_name: "cli".into(),
        token_expires_at: at + Duration::days(90),
    }
}

pub fn new_token(user: &User, account: &Account, plain: &PlainToken, scopes: ScopeSet, now: DateTime<Utc>) -> NewToken {
    NewToken {
        id: new_id(IdKind::Token),
        account_id: account.id.clone(),
        user_id: user.id.clone(),
        name: "test token".into(),
        hash: plain.hash(),
        hint: plain.hint(),
        scopes,
        chatbots: ChatbotRestriction::unrestricted(),
        created_via: CreatedVia::Api,
        now,
        expires_at: now + Duration::days(90),
        allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
    }
}

/// A plain message for tests that need one.
pub fn mail(to: &str) -> sitegpt_store::OutgoingMail {
    sitegpt_store::OutgoingMail {
        to: to.into(),
        subject: "Hello".into(),
        body: "A message.".into(),
        link: None,
        user_id: None,
        html: None,
        unsubscribe: None,
    }
}

pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_serving(&dir.path().join("sitegpt.db"), sitegpt_store::sqlite::Synchronous::Full)
        .expect("open store");
    TestStore { store: Arc::new(store), dir, postgres_url: None, database: None }
}

/// A store on a new, empty database of the test PostgreSQL server, once it
/// listens for notifications; `None` (with a note) when no server was given
/// outside CI. `scripts/test.sh` starts one.
pub async fn postgres() -> Option<TestStore> {
    let url = postgres_test_url()?;
    let db = sitegpt_store::postgres::create_test_database(&url).await.expect("create a test database");
    let store = PostgresStore::connect(&db.url).await.expect("connect to PostgreSQL");
    wait_listening(&store).await;
    let dir = tempfile::tempdir().expect("temp dir");
    Some(TestStore { store: Arc::new(store), dir, postgres_url: Some(db.url.clone()), database: Some(db) })
}

pub fn postgres_test_url() -> Option<String> {
    sitegpt_store::postgres::test_server_url(false)
}

pub async fn wait_listening(store: &PostgresStore) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !store.listening() {
        assert!(std::time::Instant::now() < deadline, "the store never started listening");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Every engine under test: SQLite, and PostgreSQL when a server is given.
pub async fn engines() -> Vec<TestStore> {
    let mut engines = vec![sqlite()];
    engines.extend(postgres().await);
    engines
}
