//! The v0 API's records: whitelabel status, brands, brand users and v0 keys
//! (one per owner; a new one replaces the old).

use std::sync::Arc;

use chrono::Utc;
use sitegpt_store::{Account, Brand, BrandUser, Store, StoreError, User, V0KeyOwner};

use crate::engines;

fn brand_user(id: &str, brand_id: &str, email: &str) -> BrandUser {
    let now = Utc::now();
    BrandUser {
        id: id.into(),
        brand_id: brand_id.into(),
        email: email.into(),
        name: Some("Ada".into()),
        message_quota: Some(500),
        created_at: now,
        updated_at: now,
    }
}

/// One row in each whitelabel table (for the migration test).
pub async fn fill(store: &Arc<dyn Store>, account: &Account, owner: &User) {
    let now = Utc::now();
    store.set_whitelabel(&account.id, true, now).await.expect("whitelabel");
    let brand = Brand { id: "100".into(), account_id: account.id.clone(), name: "Acme AI".into(), created_at: now };
    store.create_brand(brand).await.expect("brand");
    store.create_brand_user(brand_user("200", "100", "ada@example.com")).await.expect("brand user");
    store.replace_v0_key(V0KeyOwner::User(owner.id.clone()), [7; 32], "aaaa".into(), now).await.expect("key");
    store.replace_v0_key(V0KeyOwner::BrandUser("200".into()), [8; 32], "bbbb".into(), now).await.expect("key");
}

#[tokio::test]
async fn brands_users_and_quotas() {
    for t in engines().await {
        let (_, account) = t.owner("wl@example.com").await;
        let now = Utc::now();
        assert!(!t.store.is_whitelabel(&account.id).await.expect("read"));
        t.store.set_whitelabel(&account.id, true, now).await.expect("on");
        t.store.set_whitelabel(&account.id, true, now).await.expect("on again");
        assert!(t.store.is_whitelabel(&account.id).await.expect("read"));
        t.store.set_whitelabel(&account.id, false, now).await.expect("off");
        assert!(!t.store.is_whitelabel(&account.id).await.expect("read"));
        let missing = t.store.set_whitelabel("acc_missing", true, now).await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{}: {missing:?}", t.store.engine());

        let brand = Brand { id: "1".into(), account_id: account.id.clone(), name: "Acme".into(), created_at: now };
        t.store.create_brand(brand.clone()).await.expect("brand");
        assert_eq!(t.store.brand("1").await.expect("read").map(|b| b.name), Some("Acme".into()));
        let orphan = Brand { id: "2".into(), account_id: "acc_missing".into(), ..brand.clone() };
        assert!(matches!(t.store.create_brand(orphan).await, Err(StoreError::NotFound)));

        t.store.create_brand_user(brand_user("10", "1", "ada@example.com")).await.expect("user");
        let duplicate = t.store.create_brand_user(brand_user("11", "1", "ada@example.com")).await;
        assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");
        assert!(matches!(
            t.store.create_brand_user(brand_user("12", "9", "x@example.com")).await,
            Err(StoreError::NotFound)
        ));
        let user = t.store.brand_user("1", "10").await.expect("read").expect("found");
        assert_eq!((user.email.as_str(), user.message_quota), ("ada@example.com", Some(500)));
        assert_eq!(t.store.brand_user("2", "10").await.expect("read"), None, "users belong to their brand");

        let changed = t.store.set_brand_user_quota("1", "10", None, now).await.expect("quota").expect("found");
        assert_eq!(changed.message_quota, None);
        assert_eq!(t.store.set_brand_user_quota("1", "99", Some(1), now).await.expect("quota"), None);
    }
}

#[tokio::test]
async fn a_new_v0_key_replaces_the_old_one() {
    for t in engines().await {
        let (owner, account) = t.owner("keys@example.com").await;
        let now = Utc::now();
        let brand = Brand { id: "1".into(), account_id: account.id.clone(), name: "Acme".into(), created_at: now };
        t.store.create_brand(brand).await.expect("brand");
        t.store.create_brand_user(brand_user("10", "1", "ada@example.com")).await.expect("user");
        let me = V0KeyOwner::User(owner.id.clone());
        let ada = V0KeyOwner::BrandUser("10".into());
        t.store.replace_v0_key(me.clone(), [1; 32], "k1".into(), now).await.expect("first");
        t.store.replace_v0_key(ada.clone(), [2; 32], "k2".into(), now).await.expect("ada");
        assert_eq!(t.store.v0_key([1; 32]).await.expect("read").map(|k| k.owner), Some(me.clone()));
        t.store.replace_v0_key(me.clone(), [3; 32], "k3".into(), now).await.expect("second");
        assert_eq!(t.store.v0_key([1; 32]).await.expect("read"), None, "the old key is gone");
        let current = t.store.v0_key([3; 32]).await.expect("read").expect("found");
        assert_eq!((current.owner, current.hint.as_str()), (me, "k3"));
        assert_eq!(t.store.v0_key([2; 32]).await.expect("read").map(|k| k.owner), Some(ada), "others keep theirs");
        let nobody = t.store.replace_v0_key(V0KeyOwner::BrandUser("404".into()), [4; 32], "k".into(), now).await;
        assert!(matches!(nobody, Err(StoreError::NotFound)), "{}: {nobody:?}", t.store.engine());
        assert_eq!(t.store.v0_key([4; 32]).await.expect("read"), None);
    }
}
