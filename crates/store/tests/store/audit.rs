//! The audit log on every engine: each change writes its event with who
//! and from where; a change that fails writes none and an event that cannot
//! be written undoes its change; the listing's visibility, filters and
//! paging; the retention purge.

use chrono::{Duration, Utc};
use sitegpt_access::{AccessLevel, ChatbotRestriction, PlainToken, Resource, Role, ScopeSet, SubscriptionStatus};
use sitegpt_store::{
    Actor, AuditAction, AuditEvent, AuditQuery, ClientSource, DevicePollOutcome, GrantIssue, Invitation, NewGrant,
    NewSession, OAuthClient, Reason, RedeemOutcome, Rotation, StoreError,
};

use crate::{TestStore, engines, mail, new_token};

fn from_laptop(user_id: &str) -> Actor {
    Actor {
        user_id: Some(user_id.into()),
        token_id: Some("tok_laptop".into()),
        ip: Some("203.0.113.9".into()),
        user_agent: Some("audit-test/1.0".into()),
        ..Actor::default()
    }
}

/// Every event of the account and of `viewer`, newest first.
async fn events(t: &TestStore, account_id: &str, viewer: &str) -> Vec<AuditEvent> {
    t.store.audit_events(AuditQuery::everything(account_id, viewer)).await.expect("list events")
}

fn actions(events: &[AuditEvent]) -> Vec<&'static str> {
    events.iter().rev().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn token_changes_write_their_events_with_actor_address_and_agent() {
    for t in engines().await {
        let engine = t.store.engine();
        let (owner, account) = t.owner("audit-tokens@example.com").await;
        let by = from_laptop(&owner.id);
        let plain = PlainToken::generate();
        let created = t
            .store
            .insert_token(new_token(&owner, &account, &plain, ScopeSet::all(), Utc::now()), &by)
            .await
            .expect("insert");
        let next = PlainToken::generate();
        let rotation = Rotation {
            token_id: created.id.clone(),
            hash: next.hash(),
            hint: next.hint(),
            now: Utc::now(),
            expires_at: Utc::now() + Duration::days(30),
        };
        t.store.rotate_token(rotation, &by).await.expect("rotate");
        t.store.revoke_token(&created.id, Utc::now(), &by).await.expect("revoke");
        // Revoking again changes nothing and writes nothing.
        t.store.revoke_token(&created.id, Utc::now(), &by).await.expect("revoke again");

        let found = events(&t, &account.id, &owner.id).await;
        assert_eq!(actions(&found), ["token.created", "token.rotated", "token.revoked"], "{engine}");
        for event in &found {
            assert_eq!(event.account_id.as_deref(), Some(account.id.as_str()), "{engine}");
            assert_eq!(event.token_id.as_deref(), Some(created.id.as_str()), "{engine}");
            assert_eq!(event.user_id.as_deref(), Some(owner.id.as_str()), "{engine}");
            assert_eq!(event.actor_user_id.as_deref(), Some(owner.id.as_str()), "{engine}");
            assert_eq!(event.actor_email.as_deref(), Some("audit-tokens@example.com"), "{engine}");
            assert_eq!(event.actor_token_id.as_deref(), Some("tok_laptop"), "{engine}");
            assert_eq!(event.ip.as_deref(), Some("203.0.113.9"), "{engine}");
            assert_eq!(event.user_agent.as_deref(), Some("audit-test/1.0"), "{engine}");
            assert!(event.id.starts_with("evt_"), "{engine}");
        }
        let created_event = found.last().expect("created");
        assert_eq!(created_event.details["via"], "api", "{engine}");
        assert_eq!(created_event.details["name"], created.name.as_str(), "{engine}");
        // No secret of the token is in any event.
        let text = format!("{found:?}");
        assert!(!text.contains(&plain.expose()) && !text.contains(&next.expose()), "{engine}");

        // A leak report revokes with its own action and says where.
        let other = t
            .store
            .insert_token(new_token(&owner, &account, &PlainToken::generate(), ScopeSet::all(), Utc::now()), &by)
            .await
            .expect("insert");
        let scanner = Actor {
            service: Some("github-secret-scanning"),
            reason: Some(Reason::LeakReported { url: "https://github.com/o/r/blob/x/env".into() }),
            ..Actor::default()
        };
        t.store.revoke_token(&other.id, Utc::now(), &scanner).await.expect("revoke leaked");
        let leak = &events(&t, &account.id, &owner.id).await[0];
        assert_eq!(leak.action, AuditAction::TokenLeakReported, "{engine}");
        assert_eq!(leak.actor_service.as_deref(), Some("github-secret-scanning"), "{engine}");
        assert_eq!(leak.details["foundAt"], "https://github.com/o/r/blob/x/env", "{engine}");
    }
}

#[tokio::test]
async fn device_and_oauth_tokens_name_their_approver_and_grants_their_client() {
    for t in engines().await {
        let engine = t.store.engine();
        let (owner, account) = t.owner("audit-flows@example.com").await;
        let client_side =
            Actor { ip: Some("198.51.100.4".into()), user_agent: Some("cli/2".into()), ..Actor::default() };
        let now = Utc::now();

        // Device flow: the token's event names the person who approved it.
        let device_code = t.approved_device(&owner, &account, now).await;
        let poll = crate::device_poll(&device_code, now);
        let DevicePollOutcome::Issued(token) = t.store.poll_device(poll, &client_side).await.expect("poll") else {
            panic!("not issued on {engine}")
        };
        let event = &events(&t, &account.id, &owner.id).await[0];
        assert_eq!((event.action, event.token_id.as_deref()), (AuditAction::TokenCreated, Some(token.id.as_str())));
        assert_eq!(event.details["via"], "cli-device", "{engine}");
        assert_eq!(event.actor_user_id.as_deref(), Some(owner.id.as_str()), "{engine}");
        assert_eq!(event.ip.as_deref(), Some("198.51.100.4"), "{engine}");

        // Authorization code: the grant, its first token, a replay's revocation.
        let client = OAuthClient {
            id: "oc_audit".into(),
            name: "Claude".into(),
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            source: ClientSource::Registered,
            created_at: now,
            last_used_at: now,
        };
        t.store.save_client(client).await.expect("client");
        let grant = NewGrant {
            id: "gr_audit".into(),
            client_id: "oc_audit".into(),
            user_id: owner.id.clone(),
            account_id: account.id.clone(),
            scopes: AccessLevel::Standard.scopes(),
            chatbots: ChatbotRestriction::unrestricted(),
            resource: Resource::Mcp,
            redirect_uri: "http://127.0.0.1/cb".into(),
            code_hash: [7; 32],
            code_challenge: "c".repeat(43),
            now,
            code_expires_at: now + Duration::seconds(60),
        };
        t.store.create_grant(grant, &from_laptop(&owner.id)).await.expect("grant");
        let mut token = new_token(&owner, &account, &PlainToken::generate(), ScopeSet::all(), Utc::now());
        token.created_via = sitegpt_access::CreatedVia::OAuth;
        let issue = GrantIssue { token: token.clone(), refresh_hash: [8; 32] };
        let outcome = t.store.redeem_code([7; 32], issue, &client_side).await.expect("redeem");
        assert!(matches!(outcome, RedeemOutcome::Issued(_)), "{engine}");
        let mut again = new_token(&owner, &account, &PlainToken::generate(), ScopeSet::all(), Utc::now());
        again.created_via = sitegpt_access::CreatedVia::OAuth;
        let replay = GrantIssue { token: again, refresh_hash: [9; 32] };
        assert_eq!(t.store.redeem_code([7; 32], replay, &client_side).await.expect("replay"), RedeemOutcome::Replayed);
        // The owner revoking it afterwards changes nothing more.
        t.store.revoke_grant("gr_audit", Some(&owner.id), Utc::now(), &from_laptop(&owner.id)).await.expect("revoke");

        let found = events(&t, &account.id, &owner.id).await;
        assert_eq!(actions(&found[..3]), ["oauth_grant.created", "token.created", "oauth_grant.revoked"], "{engine}");
        let (revoked, issued, granted) = (&found[0], &found[1], &found[2]);
        assert_eq!(granted.details["client"], "Claude", "{engine}");
        assert_eq!(granted.target_id.as_deref(), Some("gr_audit"), "{engine}");
        assert_eq!(issued.details["via"], "oauth", "{engine}");
        assert_eq!(issued.token_id.as_deref(), Some(token.id.as_str()), "{engine}");
        assert_eq!(revoked.details["cause"], "authorization code used twice", "{engine}");
        assert_eq!(revoked.target_id.as_deref(), Some("gr_audit"), "{engine}");
    }
}

#[tokio::test]
async fn people_and_team_changes_write_their_events() {
    for t in engines().await {
        let engine = t.store.engine();
        let (owner, account) = t.owner("audit-team@example.com").await;
        let member = t.member(&account, "audit-member@example.com", Role::Member).await;
        let by = from_laptop(&owner.id);
        let now = Utc::now();

        let new = NewSession {
            id_hash: [3; 32],
            user_id: member.id.clone(),
            csrf_token: "c".into(),
            now,
            expires_at: now + Duration::days(1),
        };
        t.store.create_session(new, &from_laptop(&member.id)).await.expect("session");
        t.store.set_password(&member.id, "$argon2id$new", None, &from_laptop(&member.id)).await.expect("password");
        t.store.create_password_reset([4; 32], &member.id, now, now + Duration::hours(1)).await.expect("reset link");
        t.store.use_password_reset([4; 32], "$argon2id$reset", now, &Actor::default()).await.expect("reset");
        let invitation = Invitation {
            id: "inv_audit".into(),
            account_id: account.id.clone(),
            email: "invited@example.com".into(),
            role: Role::Admin,
            invited_by: owner.id.clone(),
            created_at: now,
            expires_at: now + Duration::days(7),
        };
        t.store.create_invitation(invitation, mail("invited@example.com"), &by).await.expect("invite");
        t.store.set_role(&account.id, &member.id, Role::Admin, &by).await.expect("role");
        let token = new_token(&member, &account, &PlainToken::generate(), ScopeSet::all(), Utc::now());
        t.store.insert_token(token, &by).await.expect("token");
        t.store.remove_member(&account.id, &member.id, Utc::now(), &by).await.expect("remove");
        t.store
            .set_subscription(&account.id, SubscriptionStatus::Inactive, &Actor::service("admin"))
            .await
            .expect("sub");
        // The same status again is no change.
        t.store
            .set_subscription(&account.id, SubscriptionStatus::Inactive, &Actor::service("admin"))
            .await
            .expect("sub");

        // The member's own events belong to no team: only they see them.
        let theirs = events(&t, &account.id, &member.id).await;
        let owners = events(&t, &account.id, &owner.id).await;
        let personal = ["user.signed_in", "user.password_changed", "user.password_reset"];
        for action in personal {
            assert!(theirs.iter().any(|e| e.action.as_str() == action), "{engine}: {action}");
            assert!(!owners.iter().any(|e| e.action.as_str() == action), "{engine}: {action} is the member's");
        }
        assert!(theirs.iter().filter(|e| personal.contains(&e.action.as_str())).all(|e| e.account_id.is_none()));
        assert_eq!(
            actions(&owners),
            ["member.invited", "member.role_changed", "token.created", "member.removed", "subscription.changed"],
            "{engine}"
        );
        let removed = &owners[1];
        assert_eq!(removed.details["revokedTokens"], 1, "{engine}");
        assert_eq!(removed.user_email.as_deref(), Some("audit-member@example.com"), "{engine}");
        let role = &owners[3];
        assert_eq!((&role.details["from"], &role.details["to"]), (&"member".into(), &"admin".into()), "{engine}");
        let invited = &owners[4];
        assert_eq!(invited.details["email"], "invited@example.com", "{engine}");
        let subscription = &owners[0];
        assert_eq!(subscription.actor_service.as_deref(), Some("admin"), "{engine}");
        assert_eq!(subscription.details["to"], "inactive", "{engine}");
        let reset = theirs.iter().find(|e| e.action == AuditAction::PasswordReset).expect("reset");
        assert_eq!(reset.user_id.as_deref(), Some(member.id.as_str()), "{engine}");
    }
}

#[tokio::test]
async fn a_refused_change_writes_no_event_and_a_failed_event_undoes_its_change() {
    for t in engines().await {
        let engine = t.store.engine();
        let (owner, account) = t.owner("audit-fail@example.com").await;
        let by = from_laptop(&owner.id);
        // Refused by the rules: the sole owner cannot step down.
        let refused = t.store.set_role(&account.id, &owner.id, Role::Member, &by).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{engine}");
        assert!(events(&t, &account.id, &owner.id).await.is_empty(), "{engine}: no event for a refused change");

        // The change itself fails inside its transaction: no event.
        let (token, _) = t.token(&owner, &account, ScopeSet::all()).await;
        let before = events(&t, &account.id, &owner.id).await.len();
        sql(&t, FAIL_TOKEN_UPDATES).await;
        assert!(t.store.revoke_token(&token.id, Utc::now(), &by).await.is_err(), "{engine}");
        assert_eq!(events(&t, &account.id, &owner.id).await.len(), before, "{engine}: no event for a failed change");
        sql(&t, "DROP TRIGGER fail_token_updates").await;

        // The event cannot be written: the change is undone with it.
        sql(&t, FAIL_EVENTS).await;
        assert!(t.store.revoke_token(&token.id, Utc::now(), &by).await.is_err(), "{engine}");
        let after = t.store.token(&token.id).await.expect("read").expect("token");
        assert!(after.revoked_at.is_none(), "{engine}: no change without its event");
        assert!(t.store.set_subscription(&account.id, SubscriptionStatus::Inactive, &by).await.is_err());
        let account_after = t.store.account(&account.id).await.expect("read").expect("account");
        assert_eq!(account_after.subscription, SubscriptionStatus::Active, "{engine}");
        sql(&t, "DROP TRIGGER fail_events").await;
        t.store.revoke_token(&token.id, Utc::now(), &by).await.expect("revoke once events can be written");
        assert_eq!(events(&t, &account.id, &owner.id).await[0].action, AuditAction::TokenRevoked, "{engine}");
    }
}

/// Triggers that make a write fail inside its transaction, in each
/// engine's dialect (one statement each; PostgreSQL's is set up by `sql`).
const FAIL_TOKEN_UPDATES: &str = "CREATE TRIGGER fail_token_updates BEFORE UPDATE ON api_tokens";
const FAIL_EVENTS: &str = "CREATE TRIGGER fail_events BEFORE INSERT ON audit_events";

async fn sql(t: &TestStore, statement: &str) {
    match &t.postgres_url {
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(connection);
            let batch = match statement.strip_prefix("DROP TRIGGER ") {
                Some(name) => {
                    let table = if name == "fail_events" { "audit_events" } else { "api_tokens" };
                    format!("DROP TRIGGER {name} ON {table}")
                }
                None => format!(
                    "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
                     {statement} FOR EACH ROW EXECUTE FUNCTION injected_failure()"
                ),
            };
            client.batch_execute(&batch).await.expect("sql");
        }
        None => {
            let batch = if statement.starts_with("DROP") {
                statement.to_owned()
            } else {
                format!("{statement} BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
            };
            rusqlite::Connection::open(t.path()).expect("open").execute_batch(&batch).expect("sql");
        }
    }
}

#[tokio::test]
async fn the_listing_shows_each_person_what_they_may_see_filtered_and_paged() {
    for t in engines().await {
        let engine = t.store.engine();
        let (owner, account) = t.owner("audit-list@example.com").await;
        let member = t.member(&account, "audit-list-member@example.com", Role::Member).await;
        let (other_owner, other_account) = t.owner("audit-elsewhere@example.com").await;
        let (owner_token, _) = t.token(&owner, &account, ScopeSet::all()).await;
        let (member_token, _) = t.token(&member, &account, ScopeSet::all()).await;
        t.token(&other_owner, &other_account, ScopeSet::all()).await;
        let by_owner = from_laptop(&owner.id);
        t.store.revoke_token(&member_token.id, Utc::now(), &by_owner).await.expect("owner revokes member's");
        t.store.revoke_token(&owner_token.id, Utc::now(), &by_owner).await.expect("owner revokes own");

        let query =
            |viewer: &str, everyone: bool| AuditQuery { everyone, ..AuditQuery::everything(&account.id, viewer) };
        let all = t.store.audit_events(query(&owner.id, true)).await.expect("all");
        assert_eq!(all.len(), 4, "{engine}: two created, two revoked, none of the other team");
        // A member sees what they did or what concerns them: their token's two events.
        let mine = t.store.audit_events(query(&member.id, false)).await.expect("mine");
        assert_eq!(actions(&mine), ["token.created", "token.revoked"], "{engine}");
        assert!(mine.iter().all(|e| e.token_id.as_deref() == Some(member_token.id.as_str())), "{engine}");

        let only = |f: &dyn Fn(&mut AuditQuery)| {
            let mut q = query(&owner.id, true);
            f(&mut q);
            q
        };
        let by_token = t.store.audit_events(only(&|q| q.token_id = Some(owner_token.id.clone()))).await.expect("token");
        assert_eq!(by_token.len(), 2, "{engine}");
        let by_user = t.store.audit_events(only(&|q| q.user_id = Some(member.id.clone()))).await.expect("user");
        assert_eq!(by_user.len(), 2, "{engine}");
        let exact = t.store.audit_events(only(&|q| q.action = Some("token.revoked".into()))).await.expect("exact");
        assert_eq!(exact.len(), 2, "{engine}");
        let family = t.store.audit_events(only(&|q| q.action = Some("token".into()))).await.expect("family");
        assert_eq!(family.len(), 4, "{engine}");
        let prefix = t.store.audit_events(only(&|q| q.action = Some("tok".into()))).await.expect("prefix");
        assert!(prefix.is_empty(), "{engine}: a family is a whole word");
        let newest = all[0].at;
        let since = t.store.audit_events(only(&|q| q.since = Some(newest))).await.expect("since");
        assert!(since.iter().all(|e| e.at >= newest) && !since.is_empty(), "{engine}");
        let until = t.store.audit_events(only(&|q| q.until = Some(newest))).await.expect("until");
        assert!(until.iter().all(|e| e.at < newest), "{engine}");
        assert_eq!(since.len() + until.len(), 4, "{engine}");

        // Paged two at a time, every event once, newest first.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = t
                .store
                .audit_events(AuditQuery { limit: 2, after: after.clone(), ..query(&owner.id, true) })
                .await
                .expect("page");
            if page.is_empty() {
                break;
            }
            after = page.last().map(|e| (e.at, e.id.clone()));
            seen.extend(page.into_iter().map(|e| e.id));
        }
        assert_eq!(seen, all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), "{engine}");

        // Retention: older events go, newer stay.
        let purged = t.store.purge_audit_events(newest).await.expect("purge");
        let left = t.store.audit_events(query(&owner.id, true)).await.expect("left");
        let kept: Vec<&AuditEvent> = all.iter().filter(|e| e.at >= newest).collect();
        assert_eq!(left.iter().collect::<Vec<_>>(), kept, "{engine}");
        assert!(purged as usize >= all.len() - kept.len(), "{engine}");
        let rest = t.store.purge_audit_events(Utc::now() + Duration::seconds(1)).await.expect("purge all");
        assert!(rest >= left.len() as u64, "{engine}");
        assert!(t.store.audit_events(query(&owner.id, true)).await.expect("none").is_empty(), "{engine}");
    }
}
