//! Two handles on one database, standing in for two server nodes (or a
//! server and an admin command): what one commits, the other sees in time,
//! and rules that span rows hold when both write at once.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use sitegpt_access::{PlainToken, Role, ScopeSet, SubscriptionStatus};
use sitegpt_store::{DevicePollOutcome, Rotation, Store, StoreError};

use crate::{TestStore, engines, postgres};

/// How long another node may take to notice an authorization change.
const WITHIN: StdDuration = StdDuration::from_secs(1);

/// Waits until `store`'s epoch differs from `before`; how long that took.
async fn epoch_moves(store: &Arc<dyn Store>, before: u64) -> StdDuration {
    let start = Instant::now();
    while store.auth_epoch().expect("epoch") == before {
        assert!(
            start.elapsed() < WITHIN,
            "{}: the other node did not see the change within {WITHIN:?}",
            store.engine()
        );
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authorization_change_reaches_the_other_node_within_a_second() {
    for t in engines().await {
        let other = t.reopen().await;
        let (owner, account) = t.owner("o@example.com").await;
        let member = t.member(&account, "m@example.com", Role::Member).await;
        let (token, _) = t.token(&owner, &account, ScopeSet::all()).await;
        let (doomed, _) = t.token(&owner, &account, ScopeSet::all()).await;
        let link = [7u8; 32];
        let now = Utc::now();
        t.store.create_email_verification(link, &member.id, now, now + Duration::hours(1)).await.expect("link");
        // Let the other handle settle on an epoch first.
        tokio::time::sleep(StdDuration::from_millis(50)).await;

        let plain = PlainToken::generate();
        let rotation = Rotation {
            token_id: token.id.clone(),
            hash: plain.hash(),
            hint: plain.hint(),
            now,
            expires_at: now + Duration::days(1),
        };
        let store = &t.store;
        let mut seen = Vec::new();
        for case in ["revoke", "rotate", "role change", "member removal", "subscription change", "e-mail verification"]
        {
            let before = other.auth_epoch().expect("epoch");
            match case {
                "revoke" => drop(
                    store.revoke_token(&doomed.id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke"),
                ),
                "rotate" => {
                    drop(store.rotate_token(rotation.clone(), &sitegpt_store::Actor::system()).await.expect("rotate"))
                }
                "role change" => store
                    .set_role(&account.id, &member.id, Role::Admin, &sitegpt_store::Actor::system())
                    .await
                    .expect("role"),
                "member removal" => store
                    .remove_member(&account.id, &member.id, Utc::now(), &sitegpt_store::Actor::system())
                    .await
                    .expect("remove"),
                "subscription change" => store
                    .set_subscription(&account.id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
                    .await
                    .expect("subscription"),
                _ => drop(store.use_email_verification(link, Utc::now()).await.expect("verify")),
            }
            seen.push((case, epoch_moves(&other, before).await));
        }
        eprintln!("{}: {seen:?}", t.store.engine());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_demotions_on_two_nodes_keep_an_owner() {
    for t in engines().await {
        let other = t.reopen().await;
        for round in 0..10 {
            let (a, account) = t.owner(&format!("a{round}@example.com")).await;
            let b = t.member(&account, &format!("b{round}@example.com"), Role::Owner).await;
            let (one, two) = (Arc::clone(&t.store), Arc::clone(&other));
            let (id1, id2) = (account.id.clone(), account.id.clone());
            let first =
                tokio::spawn(
                    async move { one.set_role(&id1, &a.id, Role::Viewer, &sitegpt_store::Actor::system()).await },
                );
            let second =
                tokio::spawn(
                    async move { two.set_role(&id2, &b.id, Role::Viewer, &sitegpt_store::Actor::system()).await },
                );
            let results = [first.await.expect("join"), second.await.expect("join")];
            let ok = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(ok, 1, "{}: exactly one demotion may pass: {results:?}", t.store.engine());
            assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))));
            let owners = t.store.members(&account.id).await.expect("members");
            assert_eq!(owners.iter().filter(|m| m.role == Role::Owner).count(), 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_is_redeemed_once_across_nodes() {
    for t in engines().await {
        let other = t.reopen().await;
        let (user, account) = t.owner("d@example.com").await;
        let now = Utc::now();
        let device_code = t.approved_device(&user, &account, now).await;
        let mut polls = Vec::new();
        for i in 0..30 {
            let store = if i % 2 == 0 { Arc::clone(&t.store) } else { Arc::clone(&other) };
            let poll = crate::device_poll(&device_code, now);
            polls.push(tokio::spawn(async move { store.poll_device(poll, &sitegpt_store::Actor::system()).await }));
        }
        let mut issued = 0;
        for poll in polls {
            match poll.await.expect("join").expect("poll") {
                DevicePollOutcome::Issued(_) => issued += 1,
                DevicePollOutcome::AlreadyRedeemed => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(issued, 1, "{}", t.store.engine());
    }
}

/// When the notification connection drops, the epoch keeps moving (so caches
/// keyed on it expire within a tick), and the store listens again soon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_connection_falls_back_to_a_short_lifetime_and_reconnects() {
    let Some(t) = postgres().await else { return };
    let TestStore { store, postgres_url, .. } = &t;
    let url = postgres_url.as_deref().expect("url");
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let killed = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await
        .expect("terminate");
    assert_eq!(killed.len(), 1, "one listening connection");
    let start = Instant::now();
    while store.hears_other_nodes() != Some(false) {
        assert!(start.elapsed() < WITHIN, "the store did not notice its connection was gone");
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    // While it is down or coming back, the epoch moves without any write.
    let before = store.auth_epoch().expect("epoch");
    let waited = epoch_moves(store, before).await;
    assert!(waited < WITHIN);
    // And it listens again: a write through another handle is heard.
    let deadline = Instant::now() + StdDuration::from_secs(5);
    loop {
        let listening = client
            .query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'", &[])
            .await
            .expect("query");
        if !listening.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the store did not listen again");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    while store.hears_other_nodes() != Some(true) {
        assert!(Instant::now() < deadline, "the store did not say it listens again");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    let other = t.reopen().await;
    let (_, account) = t.owner("r@example.com").await;
    let before = store.auth_epoch().expect("epoch");
    other
        .set_subscription(&account.id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("write");
    epoch_moves(store, before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_counters_are_shared_and_windows_start_over() {
    for t in engines().await {
        let other = t.reopen().await;
        let window = Duration::minutes(1);
        let key = [3u8; 32];
        let now = Utc::now();
        assert_eq!(t.store.failures(key, now, window).await.expect("read"), None);
        let mut hits = Vec::new();
        for i in 0..40 {
            let store = if i % 2 == 0 { Arc::clone(&t.store) } else { Arc::clone(&other) };
            hits.push(tokio::spawn(async move { store.count_failure(key, now, window).await }));
        }
        for hit in hits {
            hit.await.expect("join").expect("count");
        }
        let counted = other.failures(key, now, window).await.expect("read").expect("a window");
        assert_eq!(counted.count, 40, "{}: no failure lost between nodes", t.store.engine());
        assert_eq!(counted.started_at.timestamp_millis(), now.timestamp_millis());
        assert_eq!(t.store.failures([4u8; 32], now, window).await.expect("read"), None, "keys are separate");
        // Once the window is over it no longer counts, and the next failure opens a new one.
        let later = now + Duration::seconds(61);
        assert_eq!(t.store.failures(key, later, window).await.expect("read"), None);
        let fresh = t.store.count_failure(key, later, window).await.expect("count");
        assert_eq!((fresh.count, fresh.started_at.timestamp_millis()), (1, later.timestamp_millis()));
        // A day on, the janitor removes it.
        assert!(t.store.purge_expired(later + Duration::days(2)).await.expect("purge") >= 1);
        assert_eq!(t.store.failures(key, later, window).await.expect("read"), None);
    }
}
