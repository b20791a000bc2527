//! The store test suite. Every test takes an engine through `Arc<dyn Store>`,
//! so each engine runs the same tests.

mod accounts;
mod concurrency;
mod sessions;
mod tokens;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{ChatbotRestriction, CreatedVia, PlainToken, ScopeSet, SubscriptionStatus};
use sitegpt_store::sqlite::SqliteStore;
use sitegpt_store::{Account, NewMembership, NewToken, NewUser, Store, TokenRecord, User};

/// A fresh store in its own temporary folder.
#[derive(Debug)]
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
}

impl TestStore {
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
        let record =
            self.store.insert_token(new_token(user, account, &plain, scopes, Utc::now())).await.expect("insert");
        (record, plain)
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
    }
}

pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("sitegpt.db")).expect("open store");
    TestStore { store: Arc::new(store), dir }
}

/// Every engine under test. PostgreSQL joins when it exists.
pub fn engines() -> Vec<TestStore> {
    vec![sqlite()]
}
