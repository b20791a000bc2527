//! Chatbots and what belongs to them: items, settings, conversations and
//! their messages.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::sql::{Db, all, execute, expect_one, missing_parent, pg, query, query_opt};
use crate::rows::{
    self, CHATBOT_COLUMNS, CONVERSATION_COLUMNS, Cells, ITEM_COLUMNS, MESSAGE_COLUMNS, cursor_params, ms,
};
use crate::{
    Chatbot, ChatbotItem, ChatbotPatch, ChatbotQuery, Conversation, ItemQuery, Message, StoreError, StoreResult,
};

pub(super) async fn load_chatbot(c: &impl GenericClient, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    query_opt(c, &format!("SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE id = $1"), &[&chatbot_id])
        .await?
        .map(|r| rows::chatbot(&r))
        .transpose()
}

pub(super) async fn load_item(c: &impl GenericClient, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    query_opt(c, &format!("SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE id = $1 AND kind = $2"), &[&item_id, &kind])
        .await?
        .map(|r| rows::item(&r))
        .transpose()
}

pub(super) async fn insert_message(tx: &impl GenericClient, message: &Message) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&message.id, &message.conversation_id, &message.role, &message.content, &ms(message.created_at)],
    )
    .await
    .map_err(missing_parent)?;
    Ok(())
}

pub(super) async fn insert_chatbot(db: &Db, chatbot: Chatbot) -> StoreResult<Chatbot> {
    let client = db.client().await?;
    execute(
        &client,
        "INSERT INTO chatbots (id, account_id, name, description, appearance, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &chatbot.id,
            &chatbot.account_id,
            &chatbot.name,
            &chatbot.description,
            &chatbot.appearance,
            &ms(chatbot.created_at),
            &ms(chatbot.updated_at),
        ],
    )
    .await
    .map_err(missing_parent)?;
    load_chatbot(&client, &chatbot.id).await?.ok_or(StoreError::NotFound)
}

pub(super) async fn chatbot(db: &Db, chatbot_id: &str) -> StoreResult<Option<Chatbot>> {
    load_chatbot(&db.client().await?, chatbot_id).await
}

pub(super) async fn list_chatbots(db: &Db, q: ChatbotQuery) -> StoreResult<Vec<Chatbot>> {
    let client = db.client().await?;
    let (after_at, after_id) = cursor_params(&q.after);
    let found = query(
        &client,
        &format!(
            "SELECT {CHATBOT_COLUMNS} FROM chatbots WHERE account_id = $1 \
             AND (cardinality($2::text[]) = 0 OR id = ANY($2::text[])) \
             AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        ),
        &[&q.account_id, &q.only, &after_at, &after_id, &rows::limit(q.limit)],
    )
    .await?;
    all(found, rows::chatbot)
}

pub(super) async fn update_chatbot(
    db: &Db,
    chatbot_id: &str,
    patch: ChatbotPatch,
    now: DateTime<Utc>,
) -> StoreResult<Chatbot> {
    let client = db.client().await?;
    let updated = query_opt(
        &client,
        &format!(
            "UPDATE chatbots SET name = coalesce($2, name), description = coalesce($3, description), \
             appearance = coalesce($4, appearance), updated_at = $5 WHERE id = $1 RETURNING {CHATBOT_COLUMNS}"
        ),
        &[&chatbot_id, &patch.name, &patch.description, &patch.appearance, &ms(now)],
    )
    .await?;
    rows::chatbot(&updated.ok_or(StoreError::NotFound)?)
}

pub(super) async fn delete_chatbot(db: &Db, chatbot_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(execute(&client, "DELETE FROM chatbots WHERE id = $1", &[&chatbot_id]).await.map_err(pg)?)
}

pub(super) async fn insert_item(db: &Db, item: ChatbotItem) -> StoreResult<ChatbotItem> {
    let client = db.client().await?;
    execute(
        &client,
        "INSERT INTO chatbot_items (id, account_id, chatbot_id, kind, data, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &item.id,
            &item.account_id,
            &item.chatbot_id,
            &item.kind,
            &item.data,
            &ms(item.created_at),
            &ms(item.updated_at),
        ],
    )
    .await
    .map_err(missing_parent)?;
    load_item(&client, &item.kind, &item.id).await?.ok_or(StoreError::NotFound)
}

pub(super) async fn item(db: &Db, kind: &str, item_id: &str) -> StoreResult<Option<ChatbotItem>> {
    load_item(&db.client().await?, kind, item_id).await
}

pub(super) async fn list_items(db: &Db, q: ItemQuery) -> StoreResult<Vec<ChatbotItem>> {
    let client = db.client().await?;
    let (after_at, after_id) = cursor_params(&q.after);
    let found = query(
        &client,
        &format!(
            "SELECT {ITEM_COLUMNS} FROM chatbot_items WHERE chatbot_id = $1 AND kind = $2 \
             AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        ),
        &[&q.chatbot_id, &q.kind, &after_at, &after_id, &rows::limit(q.limit)],
    )
    .await?;
    all(found, rows::item)
}

pub(super) async fn update_item(
    db: &Db,
    kind: &str,
    item_id: &str,
    data: String,
    now: DateTime<Utc>,
) -> StoreResult<ChatbotItem> {
    let client = db.client().await?;
    let updated = query_opt(
        &client,
        &format!(
            "UPDATE chatbot_items SET data = $3, updated_at = $4 WHERE id = $1 AND kind = $2 RETURNING {ITEM_COLUMNS}"
        ),
        &[&item_id, &kind, &data, &ms(now)],
    )
    .await?;
    rows::item(&updated.ok_or(StoreError::NotFound)?)
}

pub(super) async fn delete_item(db: &Db, kind: &str, item_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(
        execute(&client, "DELETE FROM chatbot_items WHERE id = $1 AND kind = $2", &[&item_id, &kind])
            .await
            .map_err(pg)?,
    )
}

pub(super) async fn settings(db: &Db, chatbot_id: &str) -> StoreResult<Option<String>> {
    let client = db.client().await?;
    query_opt(&client, "SELECT data FROM chatbot_settings WHERE chatbot_id = $1", &[&chatbot_id])
        .await?
        .map(|r| r.text(0))
        .transpose()
}

pub(super) async fn save_settings(db: &Db, chatbot_id: &str, data: String, now: DateTime<Utc>) -> StoreResult<()> {
    let client = db.client().await?;
    execute(
        &client,
        "INSERT INTO chatbot_settings (chatbot_id, data, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (chatbot_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        &[&chatbot_id, &data, &ms(now)],
    )
    .await
    .map_err(missing_parent)?;
    Ok(())
}

pub(super) async fn insert_conversation(
    db: &Db,
    conversation: Conversation,
    messages: Vec<Message>,
) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    execute(
        &tx,
        "INSERT INTO conversations (id, account_id, chatbot_id, status, visitor, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &conversation.id,
            &conversation.account_id,
            &conversation.chatbot_id,
            &conversation.status,
            &conversation.visitor,
            &ms(conversation.created_at),
            &ms(conversation.updated_at),
        ],
    )
    .await
    .map_err(missing_parent)?;
    for message in &messages {
        insert_message(&tx, message).await?;
    }
    tx.commit().await.map_err(pg)
}

pub(super) async fn conversation(db: &Db, conversation_id: &str) -> StoreResult<Option<Conversation>> {
    let client = db.client().await?;
    query_opt(&client, &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"), &[&conversation_id])
        .await?
        .map(|r| rows::conversation(&r))
        .transpose()
}

pub(super) async fn list_conversations(
    db: &Db,
    q: ItemQuery,
    status: Option<String>,
) -> StoreResult<Vec<Conversation>> {
    let client = db.client().await?;
    let (after_at, after_id) = cursor_params(&q.after);
    let found = query(
        &client,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE chatbot_id = $1 \
             AND ($2::text IS NULL OR status = $2) \
             AND ($3::bigint IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        ),
        &[&q.chatbot_id, &status, &after_at, &after_id, &rows::limit(q.limit)],
    )
    .await?;
    all(found, rows::conversation)
}

pub(super) async fn messages(db: &Db, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
    let client = db.client().await?;
    let found = query(
        &client,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ANY($1::text[]) \
             ORDER BY conversation_id, created_at, id"
        ),
        &[&conversation_ids],
    )
    .await?;
    all(found, rows::message)
}

pub(super) async fn set_conversation_status(
    db: &Db,
    conversation_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(
        execute(
            &client,
            "UPDATE conversations SET status = $2, updated_at = $3 WHERE id = $1",
            &[&conversation_id, &status, &ms(now)],
        )
        .await
        .map_err(pg)?,
    )
}

pub(super) async fn add_message(db: &Db, message: Message) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    expect_one(
        execute(
            &tx,
            "UPDATE conversations SET updated_at = $2 WHERE id = $1",
            &[&message.conversation_id, &ms(message.created_at)],
        )
        .await
        .map_err(pg)?,
    )?;
    insert_message(&tx, &message).await?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn delete_conversation(db: &Db, conversation_id: &str) -> StoreResult<()> {
    let client = db.client().await?;
    expect_one(execute(&client, "DELETE FROM conversations WHERE id = $1", &[&conversation_id]).await.map_err(pg)?)
}

pub(super) async fn existing_chatbots(db: &Db, account_id: &str, ids: &[String]) -> StoreResult<Vec<String>> {
    let client = db.client().await?;
    let found =
        query(&client, "SELECT id FROM chatbots WHERE account_id = $1 AND id = ANY($2::text[])", &[&account_id, &ids])
            .await?;
    let found = all(found, |r| r.text(0))?;
    // In the order asked.
    Ok(ids.iter().filter(|id| found.contains(id)).cloned().collect())
}
