use chrono::Utc;
use sitegpt_access::{Role, SubscriptionStatus};
use sitegpt_store::{NewMembership, NewUser, StoreError};

use crate::engines;

#[tokio::test]
async fn a_new_user_owns_a_new_account() {
    for t in engines().await {
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
    for t in engines().await {
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
    for t in engines().await {
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
        t.store
            .set_role(&account.id, &viewer.id, Role::Admin, &sitegpt_store::Actor::system())
            .await
            .expect("set role");
        assert_eq!(t.store.memberships(&viewer.id).await.expect("m")[0].1, Role::Admin);
        t.store.verify_email(&viewer.id, Utc::now()).await.expect("verify");
        let found = t.store.user_by_email("viewer@example.com").await.expect("q").expect("u");
        assert!(found.email_verified_at.is_some());
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    for t in engines().await {
        let (user, _) = t.owner("o@example.com").await;
        assert!(matches!(
            t.store.set_role("acc_nope", &user.id, Role::Viewer, &sitegpt_store::Actor::system()).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            t.store.set_subscription("acc_nope", SubscriptionStatus::Inactive, &sitegpt_store::Actor::system()).await,
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
    for t in engines().await {
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
    for t in engines().await {
        let (user, account) = t.owner("e@example.com").await;
        let (token, _) = t.token(&user, &account, sitegpt_access::ScopeSet::all()).await;
        let e0 = t.store.auth_epoch().expect("epoch");
        assert_eq!(t.store.auth_epoch().expect("epoch"), e0, "stable without writes");
        t.store.touch_token(&token.id, Utc::now()).await.expect("touch");
        assert_eq!(t.store.auth_epoch().expect("epoch"), e0, "use is not an authorization change");
        t.store
            .set_subscription(&account.id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
            .await
            .expect("sub");
        let e1 = t.store.auth_epoch().expect("epoch");
        assert!(e1 > e0);
        let member = t.member(&account, "m2@example.com", Role::Member).await;
        let e_member = t.store.auth_epoch().expect("epoch");
        t.store.set_role(&account.id, &member.id, Role::Admin, &sitegpt_store::Actor::system()).await.expect("role");
        let e2 = t.store.auth_epoch().expect("epoch");
        assert!(e2 > e_member && e_member >= e1);
        t.store.revoke_token(&token.id, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");
        assert!(t.store.auth_epoch().expect("epoch") > e2);
    }
}

#[tokio::test]
async fn chatbots_list_update_and_delete() {
    for t in engines().await {
        let (_, account) = t.owner("bots@example.com").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(t.store.create_chatbot(&account.id, &format!("bot {i}"), Utc::now()).await.expect("bot").id);
        }
        let query = |only: Vec<String>, after| sitegpt_store::ChatbotQuery {
            account_id: account.id.clone(),
            only,
            limit: 2,
            after,
        };
        let first = t.store.list_chatbots(query(vec![], None)).await.expect("list");
        assert_eq!(first.len(), 2);
        let last = first.last().expect("last");
        let second =
            t.store.list_chatbots(query(vec![], Some((last.created_at, last.id.clone())))).await.expect("list");
        assert_eq!(second.len(), 2);
        assert!(second.iter().all(|b| !first.contains(b)), "pages do not overlap");
        let only = t.store.list_chatbots(query(vec![ids[3].clone(), ids[1].clone()], None)).await.expect("list");
        let mut got: Vec<_> = only.iter().map(|b| b.id.clone()).collect();
        got.sort();
        let mut want = vec![ids[1].clone(), ids[3].clone()];
        want.sort();
        assert_eq!(got, want, "restricted to the given ids");

        let patch =
            sitegpt_store::ChatbotPatch { description: Some("Answers support questions".into()), ..Default::default() };
        let updated = t.store.update_chatbot(&ids[0], patch, Utc::now()).await.expect("update");
        assert_eq!(updated.name, "bot 0", "untouched fields stay");
        assert_eq!(updated.description, "Answers support questions");
        t.store.delete_chatbot(&ids[0]).await.expect("delete");
        assert!(t.store.chatbot(&ids[0]).await.expect("q").is_none());
        assert!(matches!(t.store.delete_chatbot(&ids[0]).await, Err(StoreError::NotFound)));
        assert!(matches!(
            t.store.update_chatbot(&ids[0], sitegpt_store::ChatbotPatch::default(), Utc::now()).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn chatbot_items_by_kind_and_cascade() {
    for t in engines().await {
        let (_, account) = t.owner("items@example.com").await;
        let bot = t.store.create_chatbot(&account.id, "bot", Utc::now()).await.expect("bot");
        let item = |id: &str, kind: &str| sitegpt_store::ChatbotItem {
            id: id.into(),
            account_id: account.id.clone(),
            chatbot_id: bot.id.clone(),
            kind: kind.into(),
            data: "{\"text\":\"hello\"}".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        t.store.insert_item(item("it_1", "starters")).await.expect("insert");
        t.store.insert_item(item("it_2", "starters")).await.expect("insert");
        t.store.insert_item(item("it_3", "leads")).await.expect("insert");
        let mut orphan = item("it_4", "leads");
        orphan.chatbot_id = "cb_missing".into();
        assert!(matches!(t.store.insert_item(orphan).await, Err(StoreError::NotFound)));
        let query = |kind: &str| sitegpt_store::ItemQuery {
            chatbot_id: bot.id.clone(),
            kind: kind.into(),
            limit: 10,
            after: None,
        };
        assert_eq!(t.store.list_items(query("starters")).await.expect("list").len(), 2);
        assert!(t.store.item("leads", "it_1").await.expect("q").is_none(), "kinds do not mix");
        let updated =
            t.store.update_item("starters", "it_1", "{\"text\":\"bye\"}".into(), Utc::now()).await.expect("update");
        assert_eq!(updated.data, "{\"text\":\"bye\"}");
        t.store.delete_item("starters", "it_2").await.expect("delete");
        assert!(matches!(t.store.delete_item("starters", "it_2").await, Err(StoreError::NotFound)));
        t.store.delete_chatbot(&bot.id).await.expect("delete chatbot");
        assert!(t.store.item("leads", "it_3").await.expect("q").is_none(), "deleted with its chatbot");
    }
}

#[tokio::test]
async fn invitations_are_accepted_once_and_expire() {
    for t in engines().await {
        let (owner, account) = t.owner("host@example.com").await;
        let now = Utc::now();
        let invitation = |id: &str, expires_in: chrono::Duration| sitegpt_store::Invitation {
            id: id.into(),
            account_id: account.id.clone(),
            email: "guest@example.com".into(),
            role: Role::Viewer,
            invited_by: owner.id.clone(),
            created_at: now,
            expires_at: now + expires_in,
        };
        t.store
            .create_invitation(
                invitation("inv_1", chrono::Duration::days(7)),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("invite");
        let again = t
            .store
            .create_invitation(
                invitation("inv_2", chrono::Duration::days(7)),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "one pending invitation per address");
        let (guest, _) = t
            .store
            .create_user(NewUser {
                email: "guest@example.com".into(),
                password_hash: "h".into(),
                email_verified: true,
                membership: NewMembership::NewAccount {
                    name: "Guest".into(),
                    subscription: SubscriptionStatus::Active,
                },
                now,
            })
            .await
            .expect("guest");
        let epoch = t.store.auth_epoch().expect("epoch");
        assert_eq!(
            t.store.accept_invitations("guest@example.com", &guest.id, None, now).await.expect("accept"),
            vec![account.id.clone()]
        );
        assert!(t.store.auth_epoch().expect("epoch") > epoch);
        let roles: Vec<_> =
            t.store.memberships(&guest.id).await.expect("m").into_iter().map(|(a, r)| (a.id, r)).collect();
        assert!(roles.contains(&(account.id.clone(), Role::Viewer)));
        assert!(t.store.accept_invitations("guest@example.com", &guest.id, None, now).await.expect("again").is_empty());

        t.store
            .create_invitation(
                sitegpt_store::Invitation {
                    email: "late@example.com".into(),
                    ..invitation("inv_3", chrono::Duration::seconds(1))
                },
                crate::mail("late@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("invite");
        let later = now + chrono::Duration::seconds(5);
        assert!(
            t.store.accept_invitations("late@example.com", &guest.id, None, later).await.expect("expired").is_empty()
        );
    }
}

#[tokio::test]
async fn pending_invitations_are_listed_and_can_be_withdrawn() {
    for t in engines().await {
        let (owner, account) = t.owner("lister@example.com").await;
        let (_, other) = t.owner("other@example.com").await;
        let now = Utc::now();
        let invitation =
            |id: &str, email: &str, account_id: &str, expires_in: chrono::Duration| sitegpt_store::Invitation {
                id: id.into(),
                account_id: account_id.into(),
                email: email.into(),
                role: Role::Member,
                invited_by: owner.id.clone(),
                created_at: now,
                expires_at: now + expires_in,
            };
        let week = chrono::Duration::days(7);
        t.store
            .create_invitation(
                invitation("inv_a", "a@example.com", &account.id, week),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("a");
        t.store
            .create_invitation(
                invitation("inv_b", "b@example.com", &account.id, week),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("b");
        let soon = chrono::Duration::seconds(1);
        t.store
            .create_invitation(
                invitation("inv_c", "c@example.com", &account.id, soon),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("c");
        t.store
            .create_invitation(
                invitation("inv_d", "d@example.com", &other.id, week),
                crate::mail("x@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("d");
        let later = now + chrono::Duration::seconds(5);
        let ids = |list: Vec<sitegpt_store::Invitation>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(ids(t.store.pending_invitations(&account.id, later).await.expect("list")), ["inv_a", "inv_b"]);

        assert!(matches!(t.store.cancel_invitation(&account.id, "inv_d").await, Err(StoreError::NotFound)));
        t.store.cancel_invitation(&account.id, "inv_a").await.expect("cancel");
        assert!(matches!(t.store.cancel_invitation(&account.id, "inv_a").await, Err(StoreError::NotFound)));
        assert_eq!(ids(t.store.pending_invitations(&account.id, later).await.expect("list")), ["inv_b"]);
        assert_eq!(ids(t.store.pending_invitations(&other.id, later).await.expect("list")), ["inv_d"]);
        // A withdrawn invitation is not accepted at sign-up.
        let (user, _) = t
            .store
            .create_user(NewUser {
                email: "a@example.com".into(),
                password_hash: "h".into(),
                email_verified: true,
                membership: NewMembership::NewAccount { name: "A".into(), subscription: SubscriptionStatus::Active },
                now,
            })
            .await
            .expect("user");
        assert!(t.store.accept_invitations("a@example.com", &user.id, None, now).await.expect("accept").is_empty());
    }
}

#[tokio::test]
async fn an_invited_person_sees_accepts_or_declines_each_invitation() {
    for t in engines().await {
        let (host, account) = t.owner("host@example.com").await;
        let (other_host, other) = t.owner("other@example.com").await;
        let (guest, _) = t.owner("guest@example.com").await;
        let now = Utc::now();
        let invitation = |id: &str, account_id: &str, by: &str, email: &str| sitegpt_store::Invitation {
            id: id.into(),
            account_id: account_id.into(),
            email: email.into(),
            role: Role::Member,
            invited_by: by.into(),
            created_at: now,
            expires_at: now + chrono::Duration::days(7),
        };
        for (id, account_id, by, email) in [
            ("inv_a", account.id.as_str(), host.id.as_str(), "guest@example.com"),
            ("inv_b", other.id.as_str(), other_host.id.as_str(), "guest@example.com"),
            ("inv_c", account.id.as_str(), host.id.as_str(), "someone@example.com"),
        ] {
            t.store
                .create_invitation(
                    invitation(id, account_id, by, email),
                    crate::mail(email),
                    &sitegpt_store::Actor::system(),
                )
                .await
                .expect("invite");
        }
        let listed = t.store.invitations_to("guest@example.com", now).await.expect("list");
        let seen: Vec<_> = listed.iter().map(|(i, name)| (i.id.as_str(), name.as_str())).collect();
        assert_eq!(seen, [("inv_a", "host@example.com's team"), ("inv_b", "other@example.com's team")]);

        // Only the named invitation, and only for its own address.
        let wrong = t.store.accept_invitations("someone@example.com", &guest.id, Some("inv_a"), now).await;
        assert!(wrong.expect("none").is_empty(), "another address cannot take it");
        let joined = t.store.accept_invitations("guest@example.com", &guest.id, Some("inv_a"), now).await;
        assert_eq!(joined.expect("accept"), vec![account.id.clone()]);
        assert!(matches!(t.store.decline_invitation("someone@example.com", "inv_b").await, Err(StoreError::NotFound)));
        t.store.decline_invitation("guest@example.com", "inv_b").await.expect("decline");
        assert!(t.store.invitations_to("guest@example.com", now).await.expect("list").is_empty());
        let teams: Vec<_> = t.store.memberships(&guest.id).await.expect("m").into_iter().map(|(a, _)| a.id).collect();
        assert!(teams.contains(&account.id) && !teams.contains(&other.id));
        assert!(t.store.pending_invitations(&other.id, now).await.expect("list").is_empty(), "declined is gone");
    }
}
