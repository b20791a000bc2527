use chrono::{Duration, Utc};
use sitegpt_access::device::UserCode;
use sitegpt_store::{DeviceDecision, DeviceStatus, NewSession, StoreError};

use crate::engines;

#[tokio::test]
async fn sessions_live_until_they_expire_or_are_deleted() {
    for t in engines().await {
        let (user, _) = t.owner("s@example.com").await;
        let now = Utc::now();
        let id_hash = [7u8; 32];
        t.store
            .create_session(
                NewSession {
                    id_hash,
                    user_id: user.id.clone(),
                    csrf_token: "csrf".into(),
                    now,
                    expires_at: now + Duration::days(1),
                },
                &sitegpt_store::Actor::system(),
            )
            .await
            .expect("create");
        let session = t.store.session(id_hash, now).await.expect("q").expect("live");
        assert_eq!(session.user.id, user.id);
        assert_eq!(session.csrf_token, "csrf");
        assert!(t.store.session(id_hash, now + Duration::days(2)).await.expect("q").is_none(), "expired");
        assert!(t.store.session([8u8; 32], now).await.expect("q").is_none(), "unknown");
        t.store.delete_session(id_hash).await.expect("delete");
        assert!(t.store.session(id_hash, now).await.expect("q").is_none(), "deleted");
    }
}

#[tokio::test]
async fn verification_links_work_once_and_not_after_expiry() {
    for t in engines().await {
        let (user, account) = t.owner("v@example.com").await;
        let unverified = t.member(&account, "new@example.com", sitegpt_access::Role::Member).await;
        let now = Utc::now();
        let epoch = t.store.auth_epoch().expect("epoch");
        t.store.create_email_verification([1u8; 32], &unverified.id, now, now + Duration::days(1)).await.expect("link");
        t.store.create_email_verification([2u8; 32], &user.id, now, now + Duration::seconds(1)).await.expect("link");
        let verified = t.store.use_email_verification([1u8; 32], now).await.expect("use");
        assert_eq!(verified.id, unverified.id);
        assert!(verified.email_verified_at.is_some());
        assert!(t.store.auth_epoch().expect("epoch") > epoch, "verification changes decisions");
        assert!(matches!(t.store.use_email_verification([1u8; 32], now).await, Err(StoreError::Conflict(_))));
        assert!(matches!(
            t.store.use_email_verification([2u8; 32], now + Duration::seconds(5)).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(t.store.use_email_verification([3u8; 32], now).await, Err(StoreError::NotFound)));
    }
}

#[tokio::test]
async fn pending_user_codes_are_unique_and_decisions_final() {
    for t in engines().await {
        let (user, account) = t.owner("d@example.com").await;
        let now = Utc::now();
        let code = UserCode::generate();
        let new = || crate::new_device(code.normalized(), now).0;
        let first = t.store.create_device_authorization(new()).await.expect("create");
        assert_eq!(first.status, DeviceStatus::Pending);
        let read = t.store.device_by_user_code(code.normalized()).await.expect("read").expect("found");
        assert_eq!(first, read, "what create returns is what a read returns");
        let clash = t.store.create_device_authorization(new()).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "a pending code is unique");
        let denied = t.store.decide_device(&first.id, DeviceDecision::Deny, now).await.expect("deny");
        assert_eq!(denied.status, DeviceStatus::Denied);
        // Once decided, the code may be handed out again.
        let second = t.store.create_device_authorization(new()).await.expect("reuse");
        assert_eq!(t.store.device_by_user_code(code.normalized()).await.expect("q").expect("found").id, second.id);
        let approve = DeviceDecision::Approve { user_id: user.id.clone(), account_id: account.id.clone() };
        let approved = t.store.decide_device(&second.id, approve.clone(), now).await.expect("approve");
        assert_eq!(approved.user_id.as_deref(), Some(user.id.as_str()));
        assert!(matches!(t.store.decide_device(&second.id, approve, now).await, Err(StoreError::Conflict(_))));
    }
}

#[tokio::test]
async fn expired_rows_are_purged_and_live_ones_kept() {
    for t in engines().await {
        let (user, _) = t.owner("p@example.com").await;
        let now = Utc::now();
        // The expired one last: creating a session sweeps expired ones too.
        for (id, expires_at) in [([2u8; 32], now + Duration::days(1)), ([1u8; 32], now - Duration::seconds(1))] {
            let session = NewSession { id_hash: id, user_id: user.id.clone(), csrf_token: "c".into(), now, expires_at };
            t.store.create_session(session, &sitegpt_store::Actor::system()).await.expect("session");
        }
        t.store.create_email_verification([3u8; 32], &user.id, now, now - Duration::days(2)).await.expect("old link");
        t.store.create_email_verification([4u8; 32], &user.id, now, now + Duration::days(1)).await.expect("new link");
        let purged = t.store.purge_expired(now).await.expect("purge");
        assert_eq!(purged, 2);
        assert!(t.store.session([2u8; 32], now).await.expect("q").is_some());
        assert!(matches!(t.store.use_email_verification([3u8; 32], now).await, Err(StoreError::NotFound)));
        t.store.use_email_verification([4u8; 32], now).await.expect("live link still works");
    }
}
