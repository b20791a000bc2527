//! `/api/v2/chatbots/{chatbotId}/conversations`: threads with their
//! messages. This server stores and changes them; answering chats happens
//! elsewhere. A person on the team can reply (`role: agent`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use sitegpt_access::id::is_plausible_id;
use sitegpt_api_types::content::{
    AddMessage, ChatMessage, Conversation as WireConversation, ConversationData, ConversationStatus, MessageData,
    MessageRole, UpdateConversation,
};
use sitegpt_api_types::{Deleted, Page};
use sitegpt_store::{Conversation, ItemQuery, Message};

use super::paging::{next_page, window};
use super::{created, ok};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::request::{JsonBody, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn status_of(s: &str) -> ConversationStatus {
    match s {
        "resolved" => ConversationStatus::Resolved,
        "archived" => ConversationStatus::Archived,
        _ => ConversationStatus::Open,
    }
}

fn status_name(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::Open => "open",
        ConversationStatus::Resolved => "resolved",
        ConversationStatus::Archived => "archived",
    }
}

fn role_of(s: &str) -> MessageRole {
    match s {
        "assistant" => MessageRole::Assistant,
        "agent" => MessageRole::Agent,
        _ => MessageRole::Visitor,
    }
}

fn message_to_wire(m: &Message) -> ChatMessage {
    ChatMessage { id: m.id.clone(), role: role_of(&m.role), content: m.content.clone(), created_at: m.created_at }
}

/// Conversations with their messages, fetched in one query for all of them.
async fn with_messages(state: &AppState, conversations: &[Conversation]) -> Result<Vec<WireConversation>, ApiError> {
    let ids: Vec<String> = conversations.iter().map(|c| c.id.clone()).collect();
    let mut by_conversation: HashMap<String, Vec<ChatMessage>> = HashMap::new();
    for message in state.store.messages(&ids).await? {
        by_conversation.entry(message.conversation_id.clone()).or_default().push(message_to_wire(&message));
    }
    Ok(conversations
        .iter()
        .map(|c| WireConversation {
            id: c.id.clone(),
            chatbot_id: c.chatbot_id.clone(),
            status: status_of(&c.status),
            visitor: c.visitor.clone(),
            messages: by_conversation.remove(&c.id).unwrap_or_default(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect())
}

async fn single(state: &AppState, conversation: &Conversation) -> Result<ConversationData, ApiError> {
    let conversation = with_messages(state, std::slice::from_ref(conversation)).await?.remove(0);
    Ok(ConversationData { conversation })
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(chatbot_id): Path<String>,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let chatbot = super::chatbots::load(&state, &caller, &chatbot_id).await?;
    let params = params.parse()?;
    let (limit, after) = window(params.limit.as_deref(), params.cursor.as_deref())?;
    let status = match params.status.as_deref() {
        None => None,
        Some(s @ ("open" | "resolved" | "archived")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::validation(vec!["status".into()], "status must be open, resolved or archived"));
        }
    };
    let query = ItemQuery { chatbot_id: chatbot.id, kind: String::new(), limit: limit + 1, after };
    let conversations = state.store.list_conversations(query, status).await?;
    let (conversations, next_cursor) = next_page(conversations, limit, |c| (c.created_at, c.id.as_str()));
    Ok(ok(Page { items: with_messages(&state, &conversations).await?, next_cursor }))
}

/// The chatbot and conversation in the path; anything not matching is 404.
async fn load(
    state: &AppState,
    caller: &Caller,
    chatbot_id: &str,
    conversation_id: &str,
) -> Result<Conversation, ApiError> {
    let chatbot = super::chatbots::find(state, chatbot_id).await?;
    let conversation =
        if is_plausible_id(conversation_id) { state.store.conversation(conversation_id).await? } else { None };
    let under = conversation.as_ref().map(|c| c.chatbot_id.as_str());
    caller.authorize(super::chatbots::inside(caller, chatbot.as_ref(), under))?;
    conversation.ok_or_else(ApiError::not_found)
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, conversation_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let conversation = load(&state, &caller, &chatbot_id, &conversation_id).await?;
    Ok(ok(single(&state, &conversation).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, conversation_id)): Path<(String, String)>,
    body: JsonBody<UpdateConversation>,
) -> Result<Response, ApiError> {
    let conversation = load(&state, &caller, &chatbot_id, &conversation_id).await?;
    let request = body.parse()?;
    state.store.set_conversation_status(&conversation.id, status_name(request.status), Utc::now()).await?;
    let updated = state.store.conversation(&conversation.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(ok(single(&state, &updated).await?))
}

pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, conversation_id)): Path<(String, String)>,
    body: JsonBody<AddMessage>,
) -> Result<Response, ApiError> {
    let conversation = load(&state, &caller, &chatbot_id, &conversation_id).await?;
    let request = body.parse()?;
    let chars = request.content.chars().count();
    if request.content.trim().is_empty() || chars > 10_000 {
        return Err(ApiError::validation(vec!["content".into()], "content must be 1–10000 characters"));
    }
    let message = Message {
        id: sitegpt_access::id::new_id(sitegpt_access::id::IdKind::Message),
        conversation_id: conversation.id,
        role: "agent".into(),
        content: request.content,
        created_at: Utc::now(),
    };
    state.store.add_message(message.clone()).await?;
    Ok(created(MessageData { message: message_to_wire(&message) }))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, conversation_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let conversation = load(&state, &caller, &chatbot_id, &conversation_id).await?;
    state.store.delete_conversation(&conversation.id).await?;
    Ok(ok(Deleted { id: conversation.id, deleted: true }))
}
