use chrono::{Duration, Utc};
use sitegpt_access::{PlainToken, Role, Scope, ScopeSet};
use sitegpt_store::{Rotation, StoreError, TokenQuery};

use crate::engines;

#[tokio::test]
async fn tokens_are_found_by_hash_with_their_auth_facts() {
    for t in engines().await {
        let (user, account) = t.owner("t@example.com").await;
        let scopes: ScopeSet = [Scope::AccountRead, Scope::TokensRead].into_iter().collect();
        let (record, plain) = t.token(&user, &account, scopes).await;
        assert_eq!(record.scopes, scopes);
        assert_eq!(record.hint, plain.hint());
        let auth = t.store.token_for_auth(plain.hash()).await.expect("q").expect("found");
        assert_eq!(auth.token, record);
        assert_eq!(auth.role, Some(Role::Owner));
        assert!(auth.email_verified);
        assert_eq!(auth.user_email, "t@example.com");
        assert_eq!(auth.account_name, account.name);
        let other = PlainToken::generate();
        assert!(t.store.token_for_auth(other.hash()).await.expect("q").is_none());
    }
}

#[tokio::test]
async fn rotation_replaces_the_secret_and_keeps_the_id() {
    for t in engines().await {
        let (user, account) = t.owner("r@example.com").await;
        let (record, old) = t.token(&user, &account, ScopeSet::all()).await;
        let new = PlainToken::generate();
        let now = Utc::now();
        let rotated = t
            .store
            .rotate_token(
                Rotation {
                    token_id: record.id.clone(),
                    hash: new.hash(),
                    hint: new.hint(),
                    now,
                    expires_at: now + Duration::days(90),
                },
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("rotate");
        assert_eq!(rotated.id, record.id);
        assert_eq!(rotated.created_at, record.created_at);
        assert_eq!(rotated.hint, new.hint());
        assert!(t.store.token_for_auth(old.hash()).await.expect("q").is_none());
        assert_eq!(t.store.token_for_auth(new.hash()).await.expect("q").expect("found").token.id, record.id);

        t.store.revoke_token(&record.id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
        let again = t
            .store
            .rotate_token(
                Rotation { token_id: record.id.clone(), hash: old.hash(), hint: old.hint(), now, expires_at: now },
                &sitegpt_store::Actor::system(),
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let missing = t
            .store
            .rotate_token(
                Rotation { token_id: "tok_missing".into(), hash: old.hash(), hint: old.hint(), now, expires_at: now },
                &sitegpt_store::Actor::system(),
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)));
    }
}

#[tokio::test]
async fn revocation_is_idempotent_and_keeps_the_first_time() {
    for t in engines().await {
        let (user, account) = t.owner("v@example.com").await;
        let (record, _) = t.token(&user, &account, ScopeSet::all()).await;
        let first =
            t.store.revoke_token(&record.id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
        let at = first.revoked_at.expect("revoked");
        let second = t
            .store
            .revoke_token(&record.id, Utc::now() + Duration::seconds(5), &sitegpt_store::Actor::system())
            .await
            .expect("again");
        assert_eq!(second.revoked_at, Some(at));
        assert!(matches!(
            t.store.revoke_token("tok_missing", Utc::now(), &sitegpt_store::Actor::system()).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn removing_a_member_revokes_their_tokens_there() {
    for t in engines().await {
        let (_, account) = t.owner("o@example.com").await;
        let member = t.member(&account, "gone@example.com", Role::Admin).await;
        let (token, plain) = t.token(&member, &account, ScopeSet::all()).await;
        t.store
            .remove_member(&account.id, &member.id, Utc::now(), &sitegpt_store::Actor::system())
            .await
            .expect("remove");
        let auth = t.store.token_for_auth(plain.hash()).await.expect("q").expect("still stored");
        assert_eq!(auth.role, None);
        assert!(auth.token.revoked_at.is_some());
        assert_eq!(auth.token.id, token.id);
        assert!(matches!(
            t.store.remove_member(&account.id, &member.id, Utc::now(), &sitegpt_store::Actor::system()).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn an_account_keeps_at_least_one_owner() {
    for t in engines().await {
        let (owner, account) = t.owner("only@example.com").await;
        let (token, _) = t.token(&owner, &account, ScopeSet::all()).await;
        let demote = t.store.set_role(&account.id, &owner.id, Role::Admin, &sitegpt_store::Actor::system()).await;
        assert!(matches!(demote, Err(StoreError::Conflict(_))), "{demote:?}");
        let remove = t.store.remove_member(&account.id, &owner.id, Utc::now(), &sitegpt_store::Actor::system()).await;
        assert!(matches!(remove, Err(StoreError::Conflict(_))), "{remove:?}");
        // Both refusals rolled back completely.
        assert_eq!(t.store.memberships(&owner.id).await.expect("m")[0].1, Role::Owner);
        assert!(t.store.token(&token.id).await.expect("q").expect("t").revoked_at.is_none());
    }
}

#[tokio::test]
async fn last_use_is_written_at_most_once_a_minute() {
    for t in engines().await {
        let (user, account) = t.owner("u@example.com").await;
        let (record, _) = t.token(&user, &account, ScopeSet::all()).await;
        let t0 = Utc::now();
        t.store.touch_token(&record.id, t0).await.expect("touch");
        let stamp =
            |r: Option<sitegpt_store::TokenRecord>| r.expect("token").last_used_at.expect("used").timestamp_millis();
        assert_eq!(stamp(t.store.token(&record.id).await.expect("q")), t0.timestamp_millis());
        t.store.touch_token(&record.id, t0 + Duration::seconds(30)).await.expect("touch");
        assert_eq!(stamp(t.store.token(&record.id).await.expect("q")), t0.timestamp_millis());
        let t1 = t0 + Duration::seconds(61);
        t.store.touch_token(&record.id, t1).await.expect("touch");
        assert_eq!(stamp(t.store.token(&record.id).await.expect("q")), t1.timestamp_millis());
    }
}

#[tokio::test]
async fn lists_page_newest_first_and_hide_revoked_by_default() {
    for t in engines().await {
        let (user, account) = t.owner("l@example.com").await;
        let other = t.member(&account, "m@example.com", Role::Member).await;
        let base = Utc::now();
        let mut ids = Vec::new();
        for i in 0..7 {
            let plain = PlainToken::generate();
            // Two tokens share each timestamp, so the id breaks ties.
            let new = crate::new_token(&user, &account, &plain, ScopeSet::all(), base + Duration::seconds(i / 2));
            ids.push(t.store.insert_token(new, &sitegpt_store::Actor::system()).await.expect("insert").id);
        }
        t.token(&other, &account, ScopeSet::all()).await;
        t.store.revoke_token(&ids[0], Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");

        let mut query = TokenQuery {
            account_id: account.id.clone(),
            user_id: Some(user.id.clone()),
            include_revoked: false,
            limit: 3,
            after: None,
        };
        let mut seen = Vec::new();
        loop {
            let page = t.store.list_tokens(query.clone()).await.expect("list");
            seen.extend(page.iter().map(|r| r.id.clone()));
            if page.len() < query.limit {
                break;
            }
            let last = page.last().expect("non-empty");
            query.after = Some((last.created_at, last.id.clone()));
        }
        assert_eq!(seen.len(), 6, "revoked hidden, other user's hidden");
        let mut sorted = seen.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 6, "no duplicates across pages");
        assert!(!seen.contains(&ids[0]));
        let all = t
            .store
            .list_tokens(TokenQuery { user_id: None, include_revoked: true, limit: 100, after: None, ..query })
            .await
            .expect("list");
        assert_eq!(all.len(), 8);
        assert!(all.windows(2).all(|w| (w[0].created_at, &w[0].id) >= (w[1].created_at, &w[1].id)));
    }
}
