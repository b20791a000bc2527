use std::sync::Arc;

use chrono::Utc;
use sitegpt_access::{PlainToken, ScopeSet, SubscriptionStatus};
use sitegpt_store::sqlite::SqliteStore;
use sitegpt_store::{NewMembership, NewUser, Store, StoreError, TokenQuery};

use crate::{engines, new_token, sqlite};

/// Two handles on one database stand in for two processes (a server and an
/// admin command) or two nodes: every write from both lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_one_database_lose_nothing() {
    for t in engines().await {
        let (user, account) = t.owner("c@example.com").await;
        let second = t.reopen().await;
        let mut tasks = Vec::new();
        for i in 0..60 {
            let store = if i % 2 == 0 { Arc::clone(&t.store) } else { Arc::clone(&second) };
            let (user, account) = (user.clone(), account.clone());
            tasks.push(tokio::spawn(async move {
                let plain = PlainToken::generate();
                store
                    .insert_token(
                        new_token(&user, &account, &plain, ScopeSet::all(), Utc::now()),
                        &sitegpt_store::Actor::system(),
                    )
                    .await
            }));
        }
        for task in tasks {
            task.await.expect("join").expect("insert");
        }
        let all = t
            .store
            .list_tokens(TokenQuery {
                account_id: account.id,
                user_id: None,
                include_revoked: true,
                limit: 200,
                after: None,
            })
            .await
            .expect("list");
        assert_eq!(all.len(), 60, "{}", t.store.engine());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sign_ups_for_one_address_make_one_user() {
    for t in engines().await {
        let second = t.reopen().await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = if i % 2 == 0 { Arc::clone(&t.store) } else { Arc::clone(&second) };
            tasks.push(tokio::spawn(async move {
                store
                    .create_user(NewUser {
                        email: "race@example.com".into(),
                        password_hash: "h".into(),
                        email_verified: false,
                        membership: NewMembership::NewAccount {
                            name: format!("team {i}"),
                            subscription: SubscriptionStatus::Active,
                        },
                        now: Utc::now(),
                    })
                    .await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.expect("join") {
                Ok(_) => created += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(created, 1, "{}", t.store.engine());
    }
}

#[tokio::test]
async fn the_file_is_in_wal_mode() {
    let t = sqlite();
    t.owner("w@example.com").await;
    // The `-wal` file exists while connections are open in WAL mode.
    assert!(t.path().with_file_name("sitegpt.db-wal").exists(), "no WAL file beside the database");
}

/// The epoch shortcut (the `-shm` header, read at most every 200 µs) must
/// never hide a commit made through another handle for longer than that, and
/// a store's own commits count at once.
#[tokio::test]
async fn epoch_sees_own_commits_at_once_and_other_handles_within_a_millisecond() {
    let t = sqlite();
    let (_, account) = t.owner("epoch@example.com").await;
    let second = SqliteStore::open(&t.path()).expect("second handle");
    let mut last = t.store.auth_epoch().expect("epoch");
    for i in 0..50 {
        let status = if i % 2 == 0 { SubscriptionStatus::Inactive } else { SubscriptionStatus::Active };
        if i % 2 == 0 {
            second.set_subscription(&account.id, status, &sitegpt_store::Actor::system()).await.expect("write");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        } else {
            t.store.set_subscription(&account.id, status, &sitegpt_store::Actor::system()).await.expect("write");
        }
        let now = t.store.auth_epoch().expect("epoch");
        assert!(now > last, "commit {i} not seen");
        last = now;
        assert_eq!(t.store.auth_epoch().expect("epoch"), last, "stable without writes");
    }
}

async fn found(store: &SqliteStore, code: &str) -> Option<String> {
    store.device_by_user_code(code).await.expect("lookup").map(|device| device.id)
}

/// The serving handle keeps which authorization holds each user code in
/// memory: after a restart it is rebuilt from the file, device
/// authorizations written meanwhile by another handle are found, and only
/// one handle serves at a time.
#[tokio::test]
async fn user_codes_are_found_across_a_restart_and_from_other_handles() {
    use sitegpt_store::sqlite::Synchronous;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sitegpt.db");
    let now = Utc::now();
    let server = SqliteStore::open_serving(&path, Synchronous::Full).expect("serve");
    let refused = SqliteStore::open_serving(&path, Synchronous::Full).expect_err("a second server");
    assert!(refused.to_string().contains("another sitegpt-server is serving"), "{refused}");
    let served = server.create_device_authorization(crate::new_device("BCDFGHJK", now).0).await.expect("create");
    let admin = SqliteStore::open(&path).expect("another handle");
    let beside = admin.create_device_authorization(crate::new_device("BCDFGHJL", now).0).await.expect("create");
    assert_eq!(found(&server, "BCDFGHJL").await, Some(beside.id.clone()), "the server finds another handle's");
    assert_eq!(found(&admin, "BCDFGHJK").await, Some(served.id.clone()), "another handle finds the server's");
    drop(server);
    let restarted = SqliteStore::open_serving(&path, Synchronous::Full).expect("serve again");
    assert_eq!(found(&restarted, "BCDFGHJK").await, Some(served.id));
    assert_eq!(found(&restarted, "BCDFGHJL").await, Some(beside.id));
    let taken = restarted.create_device_authorization(crate::new_device("BCDFGHJK", now).0).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "still pending after the restart: {taken:?}");
}
