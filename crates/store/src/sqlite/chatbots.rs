//! Chatbots and what belongs to them: items, settings, conversations and
//! their messages.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::pool::{Pool, backend};
use super::sql::expect_one;
use super::teams::load_account;
use crate::rows::{self, CHATBOT_COLUMNS, CONVERSATION_COLUMNS, ITEM_COLUMNS, MESSAGE_COLUMNS, cursor_params, ms};
use crate::{
    Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery, Conversation, ItemQuery, Message, StoreError, StoreResult,
};

pub(super) fn load_chatbot(conn: &Connection, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    conn.prepare_cached(&format!("SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([chatbot_id], |r| rows::chatbot(r)).optional())
        .map_err(backend)
}

pub(super) fn load_item(conn: &Connection, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE id = ?1 AND kind = ?2"))
        .and_then(|mut stmt| stmt.query_row([item_id, kind], |r| rows::item(r)).optional())
        .map_err(backend)
}

pub(super) fn insert_message(tx: &Connection, message: &Message) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![message.id, message.conversation_id, message.role, message.content, ms(message.created_at)],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) async fn insert_chatbot(pool: &Arc<Pool>, chatbot: Chatbot) -> StoreResult<Chatbot> {
    pool.write(move |tx| {
        load_account(tx, &chatbot.account_id)?.ok_or(StoreError::NotFound)?;
        tx.execute(
            "INSERT INTO chatbots (id, account_id, name, description, appearance, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                chatbot.id,
                chatbot.account_id,
                chatbot.name,
                chatbot.description,
                chatbot.appearance,
                ms(chatbot.created_at),
                ms(chatbot.updated_at)
            ],
        )
        .map_err(backend)?;
        load_chatbot(tx, &chatbot.id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn chatbot(pool: &Arc<Pool>, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    let chatbot_id = chatbot_id.to_owned();
    pool.read(move |conn| load_chatbot(conn, &chatbot_id)).await
}

pub(super) async fn list_chatbots(pool: &Arc<Pool>, query: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
    pool.read(move |conn| {
        let (after_at, after_id) = cursor_params(&query.after);
        let only = query.only.join(" ");
        let sql = format!(
            "SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE account_id = ?1 \
                 AND (?2 = '' OR instr(' ' || ?2 || ' ', ' ' || id || ' ') > 0) \
                 AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) \
                 ORDER BY created_at, id LIMIT ?5"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![query.account_id, only, after_at, after_id, rows::limit(query.limit)], |r| {
                rows::chatbot(r)
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn update_chatbot(
    pool: &Arc<Pool>,
    chatbot_id: &str,
    patch: ChatbotPatch,
    now: DateTime<Utc>,
) -> StoreResult<Chatbot> {
    let chatbot_id = chatbot_id.to_owned();
    pool.write(move |tx| {
        expect_one(
            tx.execute(
                "UPDATE chatbots SET name = coalesce(?2, name), description = coalesce(?3, description), \
                     appearance = coalesce(?4, appearance), updated_at = ?5 WHERE id = ?1",
                params![chatbot_id, patch.name, patch.description, patch.appearance, ms(now)],
            )
            .map_err(backend)?,
        )?;
        load_chatbot(tx, &chatbot_id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn delete_chatbot(pool: &Arc<Pool>, chatbot_id: &str) -> StoreResult<()> {
    let chatbot_id = chatbot_id.to_owned();
    pool.write(move |tx| expect_one(tx.execute("DELETE FROM chatbots WHERE id = ?1", [chatbot_id]).map_err(backend)?))
        .await
}

pub(super) async fn insert_item(pool: &Arc<Pool>, item: ChatbotItem) -> StoreResult<ChatbotItem> {
    pool.write(move |tx| {
        tx.execute(
            "INSERT INTO chatbot_items (id, account_id, chatbot_id, kind, data, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item.id,
                item.account_id,
                item.chatbot_id,
                item.kind,
                item.data,
                ms(item.created_at),
                ms(item.updated_at)
            ],
        )
        .map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(err, _)
                if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                StoreError::NotFound
            }
            _ => backend(e),
        })?;
        load_item(tx, &item.kind, &item.id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn item(pool: &Arc<Pool>, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
    pool.read(move |conn| load_item(conn, &kind, &item_id)).await
}

pub(super) async fn list_items(pool: &Arc<Pool>, query: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
    pool.read(move |conn| {
        let (after_at, after_id) = cursor_params(&query.after);
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE chatbot_id = ?1 AND kind = ?2 \
                 AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) \
                 ORDER BY created_at, id LIMIT ?5"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![query.chatbot_id, query.kind, after_at, after_id, rows::limit(query.limit)], |r| {
                rows::item(r)
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn update_item(
    pool: &Arc<Pool>,
    kind: &str,
    item_id: &str,
    data: String,
    now: DateTime<Utc>,
) -> StoreResult<ChatbotItem> {
    let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute(
                "UPDATE chatbot_items SET data = ?3, updated_at = ?4 WHERE id = ?1 AND kind = ?2",
                params![item_id, kind, data, ms(now)],
            )
            .map_err(backend)?,
        )?;
        load_item(tx, &kind, &item_id)?.ok_or(StoreError::NotFound)
    })
    .await
}

pub(super) async fn delete_item(pool: &Arc<Pool>, kind: &str, item_id: &str) -> StoreResult<()> {
    let (kind, item_id) = (kind.to_owned(), item_id.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute("DELETE FROM chatbot_items WHERE id = ?1 AND kind = ?2", params![item_id, kind])
                .map_err(backend)?,
        )
    })
    .await
}

pub(super) async fn settings(pool: &Arc<Pool>, chatbot_id: &str) -> StoreResult<Option<String>> {
    let chatbot_id = chatbot_id.to_owned();
    pool.read(move |conn| {
        conn.query_row("SELECT data FROM chatbot_settings WHERE chatbot_id = ?1", [chatbot_id], |r| r.get(0))
            .optional()
            .map_err(backend)
    })
    .await
}

pub(super) async fn save_settings(
    pool: &Arc<Pool>,
    chatbot_id: &str,
    data: String,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let chatbot_id = chatbot_id.to_owned();
    pool.write(move |tx| {
        tx.execute(
            "INSERT INTO chatbot_settings (chatbot_id, data, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (chatbot_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            params![chatbot_id, data, ms(now)],
        )
        .map_err(backend)?;
        Ok(())
    })
    .await
}

pub(super) async fn insert_conversation(
    pool: &Arc<Pool>,
    conversation: Conversation,
    messages: Vec<Message>,
) -> StoreResult<()> {
    pool.write(move |tx| {
        tx.execute(
            "INSERT INTO conversations (id, account_id, chatbot_id, status, visitor, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                conversation.id,
                conversation.account_id,
                conversation.chatbot_id,
                conversation.status,
                conversation.visitor,
                ms(conversation.created_at),
                ms(conversation.updated_at)
            ],
        )
        .map_err(backend)?;
        for message in messages {
            insert_message(tx, &message)?;
        }
        Ok(())
    })
    .await
}

pub(super) async fn conversation(pool: &Arc<Pool>, conversation_id: &str) -> StoreResult<Option<Conversation>> {
    let conversation_id = conversation_id.to_owned();
    pool.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row([conversation_id], |r| rows::conversation(r)).optional())
            .map_err(backend)
    })
    .await
}

pub(super) async fn list_conversations(
    pool: &Arc<Pool>,
    query: ItemQuery,
    status: Option<String>,
) -> StoreResult<Vec<Conversation>> {
    pool.read(move |conn| {
        let (after_at, after_id) = cursor_params(&query.after);
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE chatbot_id = ?1 AND (?2 IS NULL OR status = ?2) \
                 AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) ORDER BY created_at, id LIMIT ?5"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(params![query.chatbot_id, status, after_at, after_id, rows::limit(query.limit)], |r| {
                rows::conversation(r)
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn messages(pool: &Arc<Pool>, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
    let ids = conversation_ids.join(" ");
    pool.read(move |conn| {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE instr(' ' || ?1 || ' ', ' ' || conversation_id || ' ') > 0 \
                     ORDER BY conversation_id, created_at, id"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([ids], |r| rows::message(r)).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
    })
    .await
}

pub(super) async fn set_conversation_status(
    pool: &Arc<Pool>,
    conversation_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (conversation_id, status) = (conversation_id.to_owned(), status.to_owned());
    pool.write(move |tx| {
        expect_one(
            tx.execute(
                "UPDATE conversations SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![conversation_id, status, ms(now)],
            )
            .map_err(backend)?,
        )
    })
    .await
}

pub(super) async fn add_message(pool: &Arc<Pool>, message: Message) -> StoreResult<()> {
    pool.write(move |tx| {
        expect_one(
            tx.execute(
                "UPDATE conversations SET updated_at = ?2 WHERE id = ?1",
                params![message.conversation_id, ms(message.created_at)],
            )
            .map_err(backend)?,
        )?;
        insert_message(tx, &message)
    })
    .await
}

pub(super) async fn delete_conversation(pool: &Arc<Pool>, conversation_id: &str) -> StoreResult<()> {
    let conversation_id = conversation_id.to_owned();
    pool.write(move |tx| {
        expect_one(tx.execute("DELETE FROM conversations WHERE id = ?1", [conversation_id]).map_err(backend)?)
    })
    .await
}

pub(super) async fn existing_chatbots(pool: &Arc<Pool>, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
    let account_id = account_id.to_owned();
    let ids = ids.to_vec();
    pool.read(move |conn| {
        let mut stmt =
            conn.prepare_cached("SELECT 1 FROM chatbots WHERE account_id = ?1 AND id = ?2").map_err(backend)?;
        let mut found = Vec::new();
        for id in ids {
            if stmt.exists(params![account_id, id]).map_err(backend)? {
                found.push(id);
            }
        }
        Ok(found)
    })
    .await
}
