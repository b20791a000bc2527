//! `sqlite_to_postgres` copies every row of every table exactly, and refuses
//! a target that already has data.

use chrono::{Duration, Utc};
use rusqlite::types::Value;
use sitegpt_access::device::UserCode;
use sitegpt_access::{AccessLevel, ChatbotRestriction, PlainToken, Role, ScopeSet};
use sitegpt_store::migrate::{SQLITE_ONLY, TABLES, sqlite_to_postgres};
use sitegpt_store::postgres::PostgresStore;
use sitegpt_store::{Conversation, Message, NewDeviceAuthorization, NewSession, Store, StoreError};

use crate::{postgres_test_url, sqlite};

/// Every row of `table`, in a stable order, as SQLite values.
fn sqlite_rows(path: &std::path::Path, table: &str, columns: &[String]) -> Vec<Vec<Value>> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut stmt = conn.prepare(&format!("SELECT {} FROM {table}", columns.join(", "))).expect("select");
    let columns = stmt.column_count();
    let mut rows: Vec<Vec<Value>> = stmt
        .query_map([], |r| (0..columns).map(|i| r.get::<_, Value>(i)).collect())
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("values");
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

/// The same from PostgreSQL, with the columns in SQLite's order.
async fn postgres_rows(client: &tokio_postgres::Client, table: &str, columns: &[String]) -> Vec<Vec<Value>> {
    let rows = client.query(&format!("SELECT {} FROM {table}", columns.join(", ")), &[]).await.expect("rows");
    let mut values: Vec<Vec<Value>> = rows
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| match row.columns()[i].type_().name() {
                    "int8" => row.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Integer),
                    "bytea" => row.get::<_, Option<Vec<u8>>>(i).map_or(Value::Null, Value::Blob),
                    _ => row.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text),
                })
                .collect()
        })
        .collect();
    values.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_every_table_arrives_unchanged() {
    let Some(admin) = postgres_test_url() else { return };
    // An installation with something in every table.
    let t = sqlite();
    let (owner, account) = t.owner("owner@example.com").await;
    let member = t.member(&account, "member@example.com", Role::Viewer).await;
    let (token, plain) = t.token(&owner, &account, ScopeSet::all()).await;
    let (revoked, _) = t.token(&member, &account, AccessLevel::Standard.scopes()).await;
    let now = Utc::now();
    t.store.revoke_token(&revoked.id, now, &sitegpt_store::Actor::system()).await.expect("revoke");
    t.store.touch_token(&token.id, now).await.expect("touch");
    // An old token that expires in three days: its week's warning is claimed.
    let aging = PlainToken::generate();
    let mut old = crate::new_token(&owner, &account, &aging, ScopeSet::all(), now - Duration::days(60));
    old.expires_at = now + Duration::days(3);
    t.store.insert_token(old, &sitegpt_store::Actor::system()).await.expect("aging token");
    let notice_mail: sitegpt_store::NoticeMail = std::sync::Arc::new(|n| crate::mail(&n.email));
    assert_eq!(t.store.claim_expiry_notices(now, notice_mail).await.expect("claim"), 1);
    let bot = t.store.create_chatbot(&account.id, "Support ✓", now).await.expect("bot");
    t.store.save_settings(&bot.id, r#"{"general":{"tone":"warm"}}"#.into(), now).await.expect("settings");
    t.store
        .insert_item(sitegpt_store::ChatbotItem {
            id: "ks_1".into(),
            account_id: account.id.clone(),
            chatbot_id: bot.id.clone(),
            kind: "knowledge".into(),
            data: r#"{"url":"https://example.com"}"#.into(),
            created_at: now,
            updated_at: now,
        })
        .await
        .expect("item");
    let conversation = Conversation {
        id: "cv_1".into(),
        account_id: account.id.clone(),
        chatbot_id: bot.id.clone(),
        status: "open".into(),
        visitor: String::new(),
        created_at: now,
        updated_at: now,
    };
    let message = Message {
        id: "msg_1".into(),
        conversation_id: "cv_1".into(),
        role: "visitor".into(),
        content: "Hello — ünïcode".into(),
        created_at: now,
    };
    t.store.insert_conversation(conversation, vec![message]).await.expect("conversation");
    t.store
        .insert_integration(sitegpt_store::IntegrationRecord {
            id: "int_1".into(),
            account_id: account.id.clone(),
            kind: "slack".into(),
            config: "{}".into(),
            secrets: r#"{"token":"x"}"#.into(),
            created_at: now,
            updated_at: now,
        })
        .await
        .expect("integration");
    t.store
        .create_invitation(
            sitegpt_store::Invitation {
                id: "inv_1".into(),
                account_id: account.id.clone(),
                email: "later@example.com".into(),
                role: Role::Member,
                invited_by: owner.id.clone(),
                created_at: now,
                expires_at: now + Duration::days(7),
            },
            crate::mail("later@example.com"),
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("invitation");
    let session = NewSession {
        id_hash: [1; 32],
        user_id: owner.id.clone(),
        csrf_token: "csrf".into(),
        now,
        expires_at: now + Duration::hours(1),
    };
    t.store.create_session(session, &sitegpt_store::Actor::system()).await.expect("session");
    t.store.create_email_verification([2; 32], &member.id, now, now + Duration::hours(1)).await.expect("link");
    t.store.create_password_reset([4; 32], &member.id, now, now + Duration::hours(1)).await.expect("reset link");
    t.store
        .create_device_authorization(NewDeviceAuthorization {
            chatbots: ChatbotRestriction::from_ids(vec![bot.id.clone()]),
            ..crate::new_device(UserCode::generate().normalized(), now).0
        })
        .await
        .expect("device");
    t.store.count_failure([9; 32], now, Duration::minutes(1)).await.expect("failure");
    crate::whitelabel::fill(&t.store, &account, &owner).await;
    crate::oauth::fill(&t.store, &owner, &account).await;

    let target = sitegpt_store::postgres::create_test_database(&admin).await.expect("database");
    let copied = sqlite_to_postgres(&t.path(), &target.url).await.expect("migrate");
    assert_eq!(copied.iter().map(|(table, _)| *table).collect::<Vec<_>>(), TABLES);
    assert!(copied.iter().all(|(_, rows)| *rows > 0), "every table had rows: {copied:?}");

    let (client, connection) = tokio_postgres::connect(&target.url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    for table in TABLES {
        let conn = rusqlite::Connection::open(t.path()).expect("open");
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"))
            .expect("columns")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<Vec<String>, _>>()
            .expect("names")
            .into_iter()
            .filter(|column| !SQLITE_ONLY.contains(&format!("{table}.{column}").as_str()))
            .collect();
        let from = sqlite_rows(&t.path(), table, &columns);
        assert_eq!(from, postgres_rows(&client, table, &columns).await, "table {table}");
    }

    // The installation works on PostgreSQL: the token verifies as before.
    let store = PostgresStore::connect(&target.url).await.expect("connect");
    let auth = store.token_for_auth(plain.hash()).await.expect("lookup").expect("found");
    assert_eq!(auth.token.id, token.id);
    assert_eq!(auth.role, Some(Role::Owner));
    // A second run refuses: the target is no longer empty.
    let again = sqlite_to_postgres(&t.path(), &target.url).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}
