use chrono::Utc;
use sitegpt_access::{Role, SubscriptionStatus};
use sitegpt_store::{NewMembership, NewUser, StoreError};

use crate::engines;

#[tokio::test]
async fn a_new_user_owns_a_new_account() {
    for t in engines() {
        let (user, account) = t.owner("ada@example.com").await;
        assert!(user.id.starts_with("usr_"));
        assert!(account.id.starts_with("acc_"));
        assert!(user.email_verified_at.is_some());
        let memberships = t.store.memberships(&user.id).await.expect("memberships");
        assert_eq!(memberships, vec![(account.clone(), Role::Owner)]);
        let found = t.store.user_by_email("ada@example.com").await.expect("lookup").expect("exists");
        assert_eq!(found, user);
        assert_eq!(t.store.account(&account.id).await.expect("account"), Some(account));
    }
}

#[tokio::test]
async fn e_mail_addresses_are_unique() {
    for t in engines() {
        t.owner("dup@example.com").await;
        let again = t
            .store
            .create_user(NewUser {
                email: "dup@example.com".into(),
                password_hash: "h".into(),
                email_verified: false,
                membership: NewMembership::NewAccount { name: "x".into(), subscription: SubscriptionStatus::Active },
                now: Utc::now(),
            })
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        // Nothing half-written: no second account appeared for the failed user.
        let (user, _) = (t.store.user_by_email("dup@example.com").await.expect("q").expect("u"), ());
        assert_eq!(t.store.memberships(&user.id).await.expect("m").len(), 1);
    }
}

#[tokio::test]
async fn members_join_existing_accounts_and_roles_change() {
    for t in engines() {
        let (_, account) = t.owner("owner@example.com").await;
        let (viewer, joined) = t
            .store
            .create_user(NewUser {
                email: "viewer@example.com".into(),
                password_hash: "h".into(),
                email_verified: false,
                membership: NewMembership::Existing { account_id: account.id.clone(), role: Role::Viewer },
                now: Utc::now(),
            })
            .await
            .expect("join");
        assert_eq!(joined.id, account.id);
        assert!(viewer.email_verified_at.is_none());
        t.store.set_role(&account.id, &viewer.id, Role::Admin).await.expect("set role");
        assert_eq!(t.store.memberships(&viewer.id).await.expect("m")[0].1, Role::Admin);
        t.store.verify_email(&viewer.id, Utc::now()).await.expect("verify");
        let found = t.store.user_by_email("viewer@example.com").await.expect("q").expect("u");
        assert!(found.email_verified_at.is_some());
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    for t in engines() {
        let (user, _) = t.owner("o@example.com").await;
        assert!(matches!(t.store.set_role("acc_nope", &user.id, Role::Viewer).await, Err(StoreError::NotFound)));
        assert!(matches!(
            t.store.set_subscription("acc_nope", SubscriptionStatus::Inactive).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(t.store.verify_email("usr_nope", Utc::now()).await, Err(StoreError::NotFound)));
        assert!(matches!(t.store.create_chatbot("acc_nope", "bot", Utc::now()).await, Err(StoreError::NotFound)));
        let joined = t
            .store
            .create_user(NewUser {
                email: "x@example.com".into(),
                password_hash: "h".into(),
                email_verified: false,
                membership: NewMembership::Existing { account_id: "acc_nope".into(), role: Role::Viewer },
                now: Utc::now(),
            })
            .await;
        assert!(matches!(joined, Err(StoreError::NotFound)));
        assert!(t.store.user_by_email("x@example.com").await.expect("q").is_none(), "rolled back");
    }
}

#[tokio::test]
async fn chatbots_belong_to_one_account() {
    for t in engines() {
        let (_, a) = t.owner("a@example.com").await;
        let (_, b) = t.owner("b@example.com").await;
        let bot_a = t.store.create_chatbot(&a.id, "Support", Utc::now()).await.expect("bot");
        let bot_b = t.store.create_chatbot(&b.id, "Sales", Utc::now()).await.expect("bot");
        let ids = vec![bot_a.id.clone(), bot_b.id.clone(), "cb_missing".into()];
        assert_eq!(t.store.existing_chatbots(&a.id, &ids).await.expect("q"), vec![bot_a.id]);
    }
}

#[tokio::test]
async fn auth_epoch_moves_on_authorization_changes_only() {
    for t in engines() {
        let (user, account) = t.owner("e@example.com").await;
        let (token, _) = t.token(&user, &account, sitegpt_access::ScopeSet::all()).await;
        let e0 = t.store.auth_epoch().expect("epoch");
        assert_eq!(t.store.auth_epoch().expect("epoch"), e0, "stable without writes");
        t.store.touch_token(&token.id, Utc::now()).await.expect("touch");
        assert_eq!(t.store.auth_epoch().expect("epoch"), e0, "use is not an authorization change");
        t.store.set_subscription(&account.id, SubscriptionStatus::Inactive).await.expect("sub");
        let e1 = t.store.auth_epoch().expect("epoch");
        assert!(e1 > e0);
        let member = t.member(&account, "m2@example.com", Role::Member).await;
        let e_member = t.store.auth_epoch().expect("epoch");
        t.store.set_role(&account.id, &member.id, Role::Admin).await.expect("role");
        let e2 = t.store.auth_epoch().expect("epoch");
        assert!(e2 > e_member && e_member >= e1);
        t.store.revoke_token(&token.id, Utc::now()).await.expect("revoke");
        assert!(t.store.auth_epoch().expect("epoch") > e2);
    }
}
