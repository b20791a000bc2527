//! Two server nodes on one database, each with its own verification cache:
//! an authorization change made through one is obeyed by the other within a
//! second. On SQLite the nodes are two processes' worth of handles on one
//! file; with `SITEGPT_TEST_ENGINE=postgres` they are two nodes on one
//! PostgreSQL database, told by `NOTIFY`.

use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;
use sitegpt_access::{Role, Scope, SubscriptionStatus};

use crate::helpers::{Browser, TestApp, TestResponse};

const MANAGE: &[Scope] = &[Scope::AccountRead, Scope::TokensRead, Scope::TokensWrite];
const WITHIN: StdDuration = StdDuration::from_secs(1);

/// Asks `node` until `accepted` says yes; fails after a second.
pub async fn within_a_second(
    node: &TestApp,
    token: &str,
    what: &str,
    accepted: impl Fn(&TestResponse) -> bool,
) -> StdDuration {
    let start = Instant::now();
    loop {
        let response = node.get("/api/v2/account", token).await;
        if accepted(&response) {
            return start.elapsed();
        }
        assert!(start.elapsed() < WITHIN, "{what}: the other node still answers {} {}", response.status, response.body);
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authorization_change_crosses_nodes_within_a_second() {
    let a = TestApp::new().await;
    let b = a.another_node().await;
    let owner = a.owner().await;
    let member = a.member(&owner.account_id, Role::Member).await;
    let leaver = a.member(&owner.account_id, Role::Member).await;
    let unverified = a.new_user(Some((&owner.account_id, Role::Member)), false).await;
    let (owner_token_id, owner_token) = a.token(&owner, MANAGE).await;
    let (revoked_id, revoked) = a.token(&owner, MANAGE).await;
    let (_, member_token) = a.token(&member, MANAGE).await;
    let (_, leaver_token) = a.token(&leaver, MANAGE).await;
    let (_, unverified_token) = a.token(&unverified, MANAGE).await;
    // Both nodes have verified (and cached) every token.
    for node in [&a, &b] {
        for token in [&owner_token, &revoked, &member_token, &leaver_token] {
            node.get("/api/v2/account", token).await.assert_ok(200);
        }
        node.get("/api/v2/account", &unverified_token).await.assert_error(403, "EMAIL_NOT_VERIFIED");
    }
    let mut took = Vec::new();

    a.post_empty(&format!("/api/v2/tokens/{revoked_id}/revoke"), &owner_token).await.assert_ok(200);
    took.push(("revoke", within_a_second(&b, &revoked, "revoke", |r| r.code() == "TOKEN_REVOKED").await));

    let rotated = a.post_empty(&format!("/api/v2/tokens/{owner_token_id}/rotate"), &owner_token).await;
    let new_owner_token = rotated.assert_ok(200)["plaintextToken"].as_str().expect("plaintext").to_owned();
    took.push(("rotate", within_a_second(&b, &owner_token, "rotate", |r| r.status.as_u16() == 401).await));
    b.get("/api/v2/account", &new_owner_token).await.assert_ok(200);

    a.store()
        .set_role(&owner.account_id, &member.id, Role::Viewer, &sitegpt_store::Actor::system())
        .await
        .expect("role");
    took.push((
        "role change",
        within_a_second(&b, &member_token, "role change", |r| r.body["data"]["role"] == "viewer").await,
    ));

    a.store()
        .remove_member(&owner.account_id, &leaver.id, Utc::now(), &sitegpt_store::Actor::system())
        .await
        .expect("remove");
    took.push((
        "member removal",
        within_a_second(&b, &leaver_token, "member removal", |r| r.status.as_u16() == 401).await,
    ));

    a.store().verify_email(&unverified.id, Utc::now()).await.expect("verify");
    took.push((
        "e-mail verification",
        within_a_second(&b, &unverified_token, "e-mail verification", |r| r.status.as_u16() == 200).await,
    ));

    a.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("subscription");
    took.push((
        "subscription change",
        within_a_second(&b, &member_token, "subscription change", |r| {
            r.body["data"]["account"]["subscriptionStatus"] == "inactive"
        })
        .await,
    ));
    eprintln!("{} nodes saw each change after: {took:?}", a.store().engine());
}

/// Failed sign-ins counted on one node block the next attempt on another:
/// the counters live in the database, not in a node.
#[tokio::test]
async fn sign_in_limits_hold_across_nodes() {
    let a = TestApp::new().await;
    let b = a.another_node().await;
    let mut on_a = Browser::from_address(&a, "10.9.9.9:5000");
    let csrf = on_a.get("/login").await.csrf();
    for i in 0..5 {
        let page = on_a
            .post("/login", &[("csrf", &csrf), ("email", &format!("g{i}@example.com")), ("password", "guess guess")])
            .await;
        assert_eq!(page.status.as_u16(), 401);
    }
    let mut on_b = Browser::from_address(&b, "10.9.9.9:5001");
    let csrf = on_b.get("/login").await.csrf();
    for i in 5..10 {
        let page = on_b
            .post("/login", &[("csrf", &csrf), ("email", &format!("g{i}@example.com")), ("password", "guess guess")])
            .await;
        assert_eq!(page.status.as_u16(), 401);
    }
    // Ten failures from one address, split over two nodes: both refuse it now.
    for (node, browser) in [("a", &mut on_a), ("b", &mut on_b)] {
        let csrf = browser.get("/login").await.csrf();
        let page =
            browser.post("/login", &[("csrf", &csrf), ("email", "g0@example.com"), ("password", "guess guess")]).await;
        assert_eq!(page.status.as_u16(), 429, "node {node}");
    }
}
