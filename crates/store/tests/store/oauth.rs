//! OAuth clients, grants and refresh tokens on every engine: a code is
//! redeemed once even when clients race, a replay revokes what it issued,
//! refresh tokens rotate with a grace, and revoking moves the auth epoch.

use chrono::{Duration, SubsecRound, Utc};
use sitegpt_access::{AccessLevel, ChatbotRestriction, PlainToken, Resource, ScopeSet};
use sitegpt_store::{ClientSource, GrantIssue, NewGrant, OAuthClient, RedeemOutcome, RefreshOutcome, StoreError};

use crate::{TestStore, engines, new_token};

async fn client(t: &TestStore, id: &str) -> OAuthClient {
    // The store keeps milliseconds.
    let now = Utc::now().trunc_subsecs(3);
    let client = OAuthClient {
        id: id.into(),
        name: "Agent".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into(), "https://app.example/cb".into()],
        source: ClientSource::Registered,
        created_at: now,
        last_used_at: now,
    };
    t.store.save_client(client.clone()).await.expect("save client");
    client
}

/// A grant with code `[code; 32]`, approved by a new owner.
async fn grant(
    t: &TestStore,
    email: &str,
    client_id: &str,
    code: u8,
) -> (NewGrant, sitegpt_store::User, sitegpt_store::Account) {
    let (user, account) = t.owner(email).await;
    let now = Utc::now();
    let grant = NewGrant {
        id: format!("gr_{email}"),
        client_id: client_id.into(),
        user_id: user.id.clone(),
        account_id: account.id.clone(),
        scopes: AccessLevel::Standard.scopes(),
        chatbots: ChatbotRestriction::unrestricted(),
        resource: Resource::Mcp,
        redirect_uri: "http://127.0.0.1:5000/cb".into(),
        code_hash: [code; 32],
        code_challenge: "c".repeat(43),
        now,
        code_expires_at: now + Duration::seconds(60),
    };
    t.store.create_grant(grant.clone(), &sitegpt_store::Actor::system()).await.expect("create grant");
    (grant, user, account)
}

fn issue(user: &sitegpt_store::User, account: &sitegpt_store::Account, refresh: u8) -> (GrantIssue, PlainToken) {
    let plain = PlainToken::generate();
    let mut token = new_token(user, account, &plain, ScopeSet::all(), Utc::now());
    token.created_via = sitegpt_access::CreatedVia::OAuth;
    (GrantIssue { token, refresh_hash: [refresh; 32] }, plain)
}

#[tokio::test]
async fn clients_are_registered_once_and_metadata_clients_updated() {
    for t in engines().await {
        let saved = client(&t, "oc_one").await;
        assert_eq!(t.store.oauth_client("oc_one").await.expect("q"), Some(saved.clone()));
        assert!(matches!(t.store.save_client(saved.clone()).await, Err(StoreError::Conflict(_))));
        assert_eq!(t.store.oauth_client("oc_none").await.expect("q"), None);
        let document = OAuthClient {
            id: "https://app.example/client.json".into(),
            source: ClientSource::Metadata,
            ..saved.clone()
        };
        t.store.save_client(document.clone()).await.expect("first fetch");
        let renamed =
            OAuthClient { name: "Renamed".into(), redirect_uris: vec!["https://app.example/new".into()], ..document };
        t.store.save_client(renamed.clone()).await.expect("refetch");
        let found = t.store.oauth_client(&renamed.id).await.expect("q").expect("client");
        assert_eq!(
            (found.name.as_str(), found.redirect_uris.as_slice()),
            ("Renamed", &["https://app.example/new".to_owned()][..])
        );
    }
}

#[tokio::test]
async fn a_code_is_redeemed_once_even_by_racing_clients_and_a_replay_revokes() {
    for t in engines().await {
        client(&t, "oc_race").await;
        let (new, user, account) = grant(&t, "race@example.com", "oc_race", 1).await;
        let found = t.store.grant_by_code([1; 32]).await.expect("q").expect("grant");
        assert_eq!((found.client_name.as_str(), found.resource, found.code_used_at), ("Agent", Resource::Mcp, None));
        let mut racers = Vec::new();
        for i in 0..6u8 {
            let store = std::sync::Arc::clone(&t.store);
            let (issue, _) = issue(&user, &account, 10 + i);
            racers.push(tokio::spawn(async move {
                store.redeem_code([1; 32], issue, &sitegpt_store::Actor::system()).await
            }));
        }
        let mut issued = Vec::new();
        let mut replayed = 0;
        for racer in racers {
            match racer.await.expect("join").expect("redeem") {
                RedeemOutcome::Issued(record) => issued.push(record),
                RedeemOutcome::Replayed | RedeemOutcome::Revoked => replayed += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((issued.len(), replayed), (1, 5), "exactly one redemption");
        let record = &issued[0];
        assert_eq!(record.grant_id.as_deref(), Some(new.id.as_str()));
        assert_eq!(record.audience, Some(Resource::Mcp));
        // The replays revoked the grant and the token it issued.
        let token = t.store.token(&record.id).await.expect("q").expect("token");
        assert!(token.revoked_at.is_some());
        assert!(t.store.grants(&user.id).await.expect("q").is_empty());
        let epoch = t.store.auth_epoch().expect("epoch");
        let (again, _) = issue(&user, &account, 30);
        assert_eq!(
            t.store.redeem_code([1; 32], again, &sitegpt_store::Actor::system()).await.expect("q"),
            RedeemOutcome::Revoked
        );
        assert_eq!(t.store.auth_epoch().expect("epoch"), epoch);
        let (unknown, _) = issue(&user, &account, 31);
        assert_eq!(
            t.store.redeem_code([2; 32], unknown, &sitegpt_store::Actor::system()).await.expect("q"),
            RedeemOutcome::Unknown
        );
    }
}

#[tokio::test]
async fn expired_codes_are_refused_and_nothing_is_issued() {
    for t in engines().await {
        client(&t, "oc_late").await;
        let (_, user, account) = grant(&t, "late@example.com", "oc_late", 3).await;
        let (mut late, _) = issue(&user, &account, 40);
        late.token.now = Utc::now() + Duration::seconds(61);
        assert_eq!(
            t.store.redeem_code([3; 32], late, &sitegpt_store::Actor::system()).await.expect("q"),
            RedeemOutcome::Expired
        );
        assert!(
            t.store
                .list_tokens(sitegpt_store::TokenQuery {
                    account_id: account.id.clone(),
                    user_id: None,
                    include_revoked: true,
                    limit: 10,
                    after: None,
                })
                .await
                .expect("q")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_with_a_grace_then_a_reuse_revokes_the_grant() {
    for t in engines().await {
        client(&t, "oc_refresh").await;
        let (new, user, account) = grant(&t, "refresh@example.com", "oc_refresh", 4).await;
        let (first, _) = issue(&user, &account, 50);
        assert!(matches!(
            t.store.redeem_code([4; 32], first, &sitegpt_store::Actor::system()).await.expect("q"),
            RedeemOutcome::Issued(_)
        ));
        assert_eq!(t.store.grant_by_refresh([50; 32]).await.expect("q").map(|g| g.id), Some(new.id.clone()));
        let grace = Duration::seconds(60);
        let idle = Duration::days(90);

        let (next, _) = issue(&user, &account, 51);
        let RefreshOutcome::Issued(second) = t.store.refresh_grant([50; 32], next, grace, idle).await.expect("q")
        else {
            panic!("the first refresh works");
        };
        assert_eq!(second.audience, Some(Resource::Mcp));
        // A retry of the superseded token inside the grace works too.
        let (retry, _) = issue(&user, &account, 52);
        assert!(matches!(
            t.store.refresh_grant([50; 32], retry, grace, idle).await.expect("q"),
            RefreshOutcome::Issued(_)
        ));
        let (unknown, _) = issue(&user, &account, 53);
        assert_eq!(t.store.refresh_grant([99; 32], unknown, grace, idle).await.expect("q"), RefreshOutcome::Unknown);

        // Past the grace the superseded token revokes everything.
        let epoch = t.store.auth_epoch().expect("epoch");
        let (mut late, _) = issue(&user, &account, 54);
        late.token.now = Utc::now() + Duration::seconds(61);
        assert_eq!(t.store.refresh_grant([50; 32], late, grace, idle).await.expect("q"), RefreshOutcome::Reused);
        assert!(t.store.auth_epoch().expect("epoch") > epoch, "revoking changes decisions");
        assert!(t.store.token(&second.id).await.expect("q").expect("token").revoked_at.is_some());
        let (after, _) = issue(&user, &account, 55);
        assert_eq!(t.store.refresh_grant([51; 32], after, grace, idle).await.expect("q"), RefreshOutcome::Ended);
    }
}

#[tokio::test]
async fn grants_are_listed_revoked_by_their_owner_and_end_when_idle() {
    for t in engines().await {
        client(&t, "oc_list").await;
        let (new, user, account) = grant(&t, "list@example.com", "oc_list", 5).await;
        assert!(t.store.grants(&user.id).await.expect("q").is_empty(), "an unredeemed grant is not listed");
        let (first, _) = issue(&user, &account, 60);
        t.store.redeem_code([5; 32], first, &sitegpt_store::Actor::system()).await.expect("redeem");
        let listed = t.store.grants(&user.id).await.expect("q");
        assert_eq!(listed.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [new.id.as_str()]);

        // Left unused past the idle limit, the grant cannot be refreshed.
        let (idle, _) = issue(&user, &account, 61);
        let outcome = t.store.refresh_grant([60; 32], idle, Duration::seconds(60), Duration::seconds(-1)).await;
        assert_eq!(outcome.expect("q"), RefreshOutcome::Ended);

        let other = t.member(&account, "other@example.com", sitegpt_access::Role::Admin).await;
        let now = Utc::now();
        assert!(matches!(
            t.store.revoke_grant(&new.id, Some(&other.id), now, &sitegpt_store::Actor::system()).await,
            Err(StoreError::NotFound)
        ));
        t.store.revoke_grant(&new.id, Some(&user.id), now, &sitegpt_store::Actor::system()).await.expect("revoke");
        t.store
            .revoke_grant(&new.id, None, now + Duration::seconds(5), &sitegpt_store::Actor::system())
            .await
            .expect("again");
        assert!(t.store.grants(&user.id).await.expect("q").is_empty());
        let (refused, _) = issue(&user, &account, 62);
        assert_eq!(
            t.store.refresh_grant([60; 32], refused, Duration::seconds(60), Duration::days(90)).await.expect("q"),
            RefreshOutcome::Ended
        );
    }
}

/// A client, a redeemed grant, its access token and refresh token: rows in
/// every OAuth table (for the migration test).
pub async fn fill(
    store: &std::sync::Arc<dyn sitegpt_store::Store>,
    user: &sitegpt_store::User,
    account: &sitegpt_store::Account,
) {
    let now = Utc::now();
    let client = OAuthClient {
        id: "oc_fill".into(),
        name: "Migrated client".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        source: ClientSource::Registered,
        created_at: now,
        last_used_at: now,
    };
    store.save_client(client).await.expect("client");
    let grant = NewGrant {
        id: "gr_fill".into(),
        client_id: "oc_fill".into(),
        user_id: user.id.clone(),
        account_id: account.id.clone(),
        scopes: AccessLevel::Standard.scopes(),
        chatbots: ChatbotRestriction::unrestricted(),
        resource: Resource::ApiV2,
        redirect_uri: "http://127.0.0.1:5000/cb".into(),
        code_hash: [77; 32],
        code_challenge: "c".repeat(43),
        now,
        code_expires_at: now + Duration::seconds(60),
    };
    store.create_grant(grant, &sitegpt_store::Actor::system()).await.expect("grant");
    let (issued, _) = issue(user, account, 78);
    assert!(matches!(
        store.redeem_code([77; 32], issued, &sitegpt_store::Actor::system()).await.expect("redeem"),
        RedeemOutcome::Issued(_)
    ));
}
