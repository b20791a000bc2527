//! The SQLite writer commits the writes that queue together, each in its own
//! savepoint: many concurrent writes take fewer commits than writes, a
//! failing write fails alone and leaves nothing behind, and every write
//! answered `Ok` is there afterwards. Durability is `FULL` unless chosen.

use std::sync::Arc;

use chrono::Utc;
use sitegpt_access::{PlainToken, ScopeSet};
use sitegpt_store::sqlite::{SqliteStore, Synchronous};
use sitegpt_store::{Actor, Store, StoreError};

use crate::{TestStore, new_token, sqlite};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_a_failing_one_fails_alone() {
    let t: TestStore = sqlite();
    let store = Arc::new(SqliteStore::open(&t.path()).expect("second handle"));
    let (owner, account) = t.owner("group@example.com").await;
    let taken = t.token(&owner, &account, ScopeSet::all()).await.0;
    let before = store.write_stats();
    let mut writes = Vec::new();
    for i in 0..400 {
        let store = Arc::clone(&store);
        let mut new = new_token(&owner, &account, &PlainToken::generate(), ScopeSet::all(), Utc::now());
        // Every tenth write reuses an id that exists: a unique violation
        // inside a batch of good writes.
        if i % 10 == 0 {
            new.id = taken.id.clone();
        }
        writes.push(tokio::spawn(async move { (new.id.clone(), store.insert_token(new, &Actor::system()).await) }));
    }
    let mut stored = Vec::new();
    for write in writes {
        let (id, result) = write.await.expect("join");
        match result {
            Ok(record) => stored.push(record.id),
            Err(StoreError::Conflict(_)) => assert_eq!(id, taken.id),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stored.len(), 360);
    let after = store.write_stats();
    let (writes, commits) = (after.writes - before.writes, after.commits - before.commits);
    assert_eq!(writes, 400);
    assert!(commits < writes, "{commits} commits for {writes} writes: nothing was grouped");
    // Every acknowledged write is there, and nothing of the failed ones
    // (their token.created events included).
    let listed = t.store.list_tokens(sitegpt_store::TokenQuery {
        account_id: account.id.clone(),
        user_id: None,
        include_revoked: true,
        limit: 10_000,
        after: None,
    });
    let listed: Vec<String> = listed.await.expect("list").into_iter().map(|r| r.id).collect();
    for id in &stored {
        assert!(listed.contains(id), "{id} was acknowledged but is missing");
    }
    assert_eq!(listed.len(), 361);
    let events = t.store.audit_events(sitegpt_store::AuditQuery::everything(&account.id, &owner.id)).await;
    assert_eq!(events.expect("events").len(), 361, "one event per stored token, none for the failed writes");
}

#[tokio::test]
async fn acknowledged_writes_are_synced_unless_the_operator_chooses_otherwise() {
    let t = sqlite();
    let full = SqliteStore::open(&t.path()).expect("open");
    assert_eq!(full.synchronous().await.expect("pragma"), Synchronous::Full);
    let normal = SqliteStore::open_with(&t.path(), Synchronous::Normal).expect("open");
    assert_eq!(normal.synchronous().await.expect("pragma"), Synchronous::Normal);
    // An idle writer commits a lone write at once, as one commit.
    let (owner, _) = t.owner("alone@example.com").await;
    let before = full.write_stats();
    full.set_expiry_notices(&owner.id, false).await.expect("write");
    let after = full.write_stats();
    assert_eq!((after.writes - before.writes, after.commits - before.commits), (1, 1));
}
