//! The mail queue: queued with the change that causes it, claimed under a
//! lease, retried, given up on, and purged.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use sitegpt_access::SubscriptionStatus;
use sitegpt_store::{MailLink, NewMembership, NewUser, OutgoingMail, StoreError};

use crate::{engines, mail};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        password_hash: "h".into(),
        email_verified: false,
        membership: NewMembership::NewAccount { name: "Team".into(), subscription: SubscriptionStatus::Active },
        now: Utc::now(),
    }
}

fn verification(to: &str) -> OutgoingMail {
    OutgoingMail { link: Some(MailLink::VerifyEmail), body: "Open {link}".into(), ..mail(to) }
}

#[tokio::test]
async fn sign_up_queues_its_mail_in_the_same_transaction() {
    for t in engines().await {
        let (user, _) =
            t.store.sign_up(new_user("new@example.com"), verification("new@example.com")).await.expect("up");
        // A taken address: neither a user nor a mail.
        let taken = t.store.sign_up(new_user("new@example.com"), verification("new@example.com")).await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        assert_eq!(t.store.mail_counts().await.expect("counts"), (1, 0));
        let now = Utc::now();
        let claimed = t.store.claim_mail(now, Duration::minutes(5), 10).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        let queued = &claimed[0];
        assert_eq!(
            (queued.to.as_str(), queued.link, queued.user_id.as_deref(), queued.body.as_str(), queued.attempts),
            ("new@example.com", Some(MailLink::VerifyEmail), Some(user.id.as_str()), "Open {link}", 0)
        );
    }
}

#[tokio::test]
async fn an_invitation_that_is_refused_queues_nothing() {
    for t in engines().await {
        let (owner, account) = t.owner("owner@example.com").await;
        let now = Utc::now();
        let invitation = sitegpt_store::Invitation {
            id: "inv_1".into(),
            account_id: account.id.clone(),
            email: "guest@example.com".into(),
            role: sitegpt_access::Role::Member,
            invited_by: owner.id.clone(),
            created_at: now,
            expires_at: now + Duration::days(7),
        };
        t.store
            .create_invitation(invitation.clone(), mail("guest@example.com"), &sitegpt_store::Actor::system())
            .await
            .expect("invite");
        let again = t
            .store
            .create_invitation(
                sitegpt_store::Invitation { id: "inv_2".into(), ..invitation },
                mail("guest@example.com"),
                &sitegpt_store::Actor::system(),
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        assert_eq!(t.store.mail_counts().await.expect("counts"), (1, 0), "only the first invitation's mail");
    }
}

#[tokio::test]
async fn claims_lease_retries_give_up_and_purge() {
    for t in engines().await {
        let now = Utc::now();
        for to in ["a@example.com", "b@example.com", "c@example.com"] {
            t.store.queue_mail(mail(to), now).await.expect("queue");
        }
        let lease = Duration::minutes(5);
        let first = t.store.claim_mail(now, lease, 2).await.expect("claim");
        assert_eq!(first.len(), 2, "at most the limit");
        let rest = t.store.claim_mail(now, lease, 10).await.expect("claim");
        assert_eq!(rest.len(), 1, "claimed messages are leased to their worker");
        assert!(t.store.claim_mail(now, lease, 10).await.expect("claim").is_empty());
        let (a, b, c) = (&first[0], &first[1], &rest[0]);

        t.store.mail_sent(&a.id).await.expect("sent");
        let retry = now + Duration::minutes(1);
        t.store.mail_failed(&b.id, "connection refused", Some(retry), now).await.expect("failed");
        t.store.mail_failed(&c.id, &"x".repeat(5_000), None, now).await.expect("given up");
        assert_eq!(t.store.mail_counts().await.expect("counts"), (1, 1));

        // Before the retry nothing is due; then `b` comes back with its attempt counted.
        assert!(t.store.claim_mail(retry - Duration::seconds(1), lease, 10).await.expect("claim").is_empty());
        let again = t.store.claim_mail(retry, lease, 10).await.expect("claim");
        assert_eq!(again.iter().map(|m| (m.id.as_str(), m.attempts)).collect::<Vec<_>>(), [(b.id.as_str(), 1)]);
        // A worker that dies mid-send leaves the message to the next claim after the lease.
        let later = retry + lease;
        assert_eq!(t.store.claim_mail(later, lease, 10).await.expect("claim").len(), 1);
        // Given-up mail is never claimed, and is purged a week later.
        assert!(
            t.store.claim_mail(now + Duration::days(30), lease, 10).await.expect("claim").iter().all(|m| m.id != c.id)
        );
        t.store.purge_expired(now + Duration::days(6)).await.expect("purge");
        assert_eq!(t.store.mail_counts().await.expect("counts").1, 1, "kept a week for operators");
        t.store.purge_expired(now + Duration::days(8)).await.expect("purge");
        assert_eq!(t.store.mail_counts().await.expect("counts"), (1, 0));
    }
}

#[tokio::test]
async fn two_workers_never_claim_the_same_message() {
    for t in engines().await {
        let now = Utc::now();
        for i in 0..40 {
            t.store.queue_mail(mail(&format!("m{i}@example.com")), now).await.expect("queue");
        }
        let other = t.reopen().await;
        let lease = Duration::minutes(5);
        let mut claims = Vec::new();
        for _ in 0..5 {
            let (one, two) = tokio::join!(t.store.claim_mail(now, lease, 5), other.claim_mail(now, lease, 5));
            claims.extend(one.expect("claim"));
            claims.extend(two.expect("claim"));
        }
        let ids: BTreeSet<_> = claims.iter().map(|m| m.id.clone()).collect();
        assert_eq!((claims.len(), ids.len()), (40, 40), "each message claimed exactly once");
    }
}
