//! What a device-token poll writes: a poll in time records itself, a poll
//! too soon grows the interval by five seconds up to a minute, and past that
//! a poll too soon writes nothing (it is answered from a read, on every
//! engine, without waiting for the row's lock).

use chrono::{Duration, Utc};
use sitegpt_access::device::{DeviceCode, MAX_INTERVAL_SECS, UserCode};
use sitegpt_store::sqlite::SqliteStore;
use sitegpt_store::{Actor, DevicePollOutcome, Store};

use crate::{device_poll, engines, new_device, sqlite};

async fn pending(store: &dyn sitegpt_store::Store, now: chrono::DateTime<Utc>) -> DeviceCode {
    let (new, code) = new_device(UserCode::generate().normalized(), now);
    store.create_device_authorization(new).await.expect("create");
    code
}

#[tokio::test]
async fn polls_too_soon_grow_the_interval_to_a_minute_then_stay_there() {
    for t in engines().await {
        let engine = t.store.engine();
        let now = Utc::now();
        let code = pending(t.store.as_ref(), now).await;
        let by = Actor::default();
        assert_eq!(t.store.poll_device(device_poll(&code, now), &by).await.expect("poll"), DevicePollOutcome::Pending);
        let mut seen = Vec::new();
        for _ in 0..15 {
            match t.store.poll_device(device_poll(&code, now), &by).await.expect("poll") {
                DevicePollOutcome::SlowDown { interval_secs } => seen.push(interval_secs),
                other => panic!("{engine}: {other:?}"),
            }
        }
        let expected: Vec<i64> = (2..=16).map(|n| (5 * n).min(MAX_INTERVAL_SECS)).collect();
        assert_eq!(seen, expected, "{engine}");
        // A poll a minute after the last recorded one is in time again.
        let later = now + Duration::seconds(MAX_INTERVAL_SECS);
        assert_eq!(
            t.store.poll_device(device_poll(&code, later), &by).await.expect("poll"),
            DevicePollOutcome::Pending
        );
    }
}

#[tokio::test]
async fn a_poll_too_soon_at_the_longest_interval_writes_nothing() {
    let t = sqlite();
    let store = SqliteStore::open(&t.path()).expect("open");
    let now = Utc::now();
    let code = pending(&store, now).await;
    let by = Actor::default();
    for _ in 0..12 {
        store.poll_device(device_poll(&code, now), &by).await.expect("poll");
    }
    let before = store.write_stats();
    for _ in 0..50 {
        let answer = store.poll_device(device_poll(&code, now), &by).await.expect("poll");
        assert_eq!(answer, DevicePollOutcome::SlowDown { interval_secs: MAX_INTERVAL_SECS });
    }
    assert_eq!(store.write_stats(), before, "polls at the longest interval reached the writer");
    // Unknown codes are answered without the writer too.
    let (_, unknown) = new_device("BCDFGHJK", now);
    store.poll_device(device_poll(&unknown, now), &by).await.expect("poll");
    assert_eq!(store.write_stats(), before);
}

#[tokio::test]
async fn a_counted_authorization_is_stored_with_its_count_and_a_refused_or_colliding_one_is_not() {
    for t in engines().await {
        let engine = t.store.engine();
        let now = Utc::now();
        let limit = sitegpt_store::UseLimit { key: [9; 32], now, window: Duration::minutes(1), max: 2 };
        let first = t.store.create_device_authorization_counted(new_device("BCDFGHJK", now).0, limit).await;
        assert!(matches!(first, Ok(Ok(_))), "{engine}: {first:?}");
        // A taken user code fails, and its count goes with it.
        let taken = t.store.create_device_authorization_counted(new_device("BCDFGHJK", now).0, limit).await;
        assert!(matches!(taken, Err(sitegpt_store::StoreError::Conflict(_))), "{engine}: {taken:?}");
        let second = t.store.create_device_authorization_counted(new_device("BCDFGHJL", now).0, limit).await;
        assert!(matches!(second, Ok(Ok(_))), "{engine}: the collision was not counted: {second:?}");
        // The third within the window is over the limit: counted, not stored.
        let third = t.store.create_device_authorization_counted(new_device("BCDFGHJM", now).0, limit).await;
        let Ok(Err(window)) = third else { panic!("{engine}: {third:?}") };
        assert_eq!(window.count, 3, "{engine}");
        assert!(t.store.device_by_user_code("BCDFGHJM").await.expect("read").is_none(), "{engine}");
        assert!(t.store.device_by_user_code("BCDFGHJL").await.expect("read").is_some(), "{engine}");
    }
}
