//! `/api/v2/chatbots`: list, create, get, update, delete.
//!
//! A chatbot-restricted token sees only its chatbots: lists are filtered,
//! and any other chatbot is 404, as one of another account is.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use sitegpt_access::Target;
use sitegpt_access::id::{IdKind, is_plausible_id, new_id};
use sitegpt_api_types::{
    Chatbot as WireChatbot, ChatbotAppearance, ChatbotData, CreateChatbotRequest, Deleted, FieldError, Page,
    PathSegment, UpdateChatbotRequest,
};
use sitegpt_store::{Chatbot, ChatbotPatch, ChatbotQuery};

use super::paging::{next_page, window};
use super::{created, ok};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::issue::check_name;
use crate::request::{JsonBody, QueryParams};
use crate::state::AppState;

const DESCRIPTION_MAX: usize = 2_000;
const WELCOME_MAX: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

pub fn to_wire(chatbot: &Chatbot) -> WireChatbot {
    WireChatbot {
        id: chatbot.id.clone(),
        name: chatbot.name.clone(),
        description: chatbot.description.clone(),
        appearance: serde_json::from_str(&chatbot.appearance).unwrap_or_default(),
        created_at: chatbot.created_at,
        updated_at: chatbot.updated_at,
    }
}

fn error(path: &[&str], message: impl Into<String>) -> FieldError {
    FieldError { path: path.iter().map(|p| PathSegment::from(*p)).collect(), message: message.into() }
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    if description.chars().count() > DESCRIPTION_MAX {
        errors.push(error(&["description"], format!("description must be at most {DESCRIPTION_MAX} characters")));
    }
}

fn check_appearance(appearance: &ChatbotAppearance, errors: &mut Vec<FieldError>) {
    if let Some(color) = &appearance.primary_color {
        let valid = color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            errors.push(error(&["appearance", "primaryColor"], "primaryColor must look like #4f46e5"));
        }
    }
    if let Some(message) = &appearance.welcome_message
        && message.chars().count() > WELCOME_MAX
    {
        errors.push(error(
            &["appearance", "welcomeMessage"],
            format!("welcomeMessage must be at most {WELCOME_MAX} characters"),
        ));
    }
}

fn finish(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

fn appearance_json(appearance: &ChatbotAppearance) -> Result<String, ApiError> {
    serde_json::to_string(appearance).map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let params = params.parse()?;
    let (limit, after) = window(params.limit.as_deref(), params.cursor.as_deref())?;
    let query = ChatbotQuery {
        account_id: caller.account_id().to_owned(),
        only: caller.facts().chatbots.ids().to_vec(),
        limit: limit + 1,
        after,
    };
    let chatbots = state.store.list_chatbots(query).await?;
    let (chatbots, next_cursor) = next_page(chatbots, limit, |c| (c.created_at, c.id.as_str()));
    Ok(ok(Page { items: chatbots.iter().map(to_wire).collect(), next_cursor }))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<CreateChatbotRequest>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    if caller.facts().chatbots.is_restricted() {
        return Err(ApiError::forbidden("A chatbot-restricted token cannot create chatbots."));
    }
    let request = body.parse()?;
    let mut errors = Vec::new();
    if let Err(message) = check_name(&request.name) {
        errors.push(error(&["name"], message));
    }
    check_description(request.description.as_deref().unwrap_or(""), &mut errors);
    let appearance = request.appearance.unwrap_or_default();
    check_appearance(&appearance, &mut errors);
    finish(errors)?;
    let now = Utc::now();
    let chatbot = state
        .store
        .insert_chatbot(Chatbot {
            id: new_id(IdKind::Chatbot),
            account_id: caller.account_id().to_owned(),
            name: request.name,
            description: request.description.unwrap_or_default(),
            appearance: appearance_json(&appearance)?,
            created_at: now,
            updated_at: now,
        })
        .await?;
    tracing::info!(chatbot_id = %chatbot.id, "chatbot created");
    Ok(created(ChatbotData { chatbot: to_wire(&chatbot) }))
}

/// Loads the chatbot and runs steps 4–6 for it.
/// The chatbot with this id, if the id could be one and it exists.
pub async fn find(state: &AppState, id: &str) -> Result<Option<Chatbot>, ApiError> {
    Ok(if is_plausible_id(id) { state.store.chatbot(id).await? } else { None })
}

/// "Inside this chatbot": the target of a record that names `under` as its
/// chatbot (`None`: no such record), in the path's `chatbot`. A missing
/// chatbot or record, or a record of another chatbot, is `Missing` (404,
/// decided before subscription and role).
pub fn inside<'a>(caller: &Caller, chatbot: Option<&'a Chatbot>, under: Option<&str>) -> Target<'a> {
    match chatbot {
        Some(c) if under == Some(c.id.as_str()) => {
            Target::Record { same_account: c.account_id == caller.account_id(), chatbot: Some(&c.id) }
        }
        _ => Target::Missing,
    }
}

/// The chatbot in the path, authorized.
pub async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<Chatbot, ApiError> {
    let chatbot = find(state, id).await?;
    caller.authorize(inside(caller, chatbot.as_ref(), chatbot.as_ref().map(|c| c.id.as_str())))?;
    chatbot.ok_or_else(ApiError::not_found)
}

pub async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let chatbot = load(&state, &caller, &id).await?;
    Ok(ok(ChatbotData { chatbot: to_wire(&chatbot) }))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<UpdateChatbotRequest>,
) -> Result<Response, ApiError> {
    let chatbot = load(&state, &caller, &id).await?;
    let request = body.parse()?;
    let mut errors = Vec::new();
    if request.name.is_none() && request.description.is_none() && request.appearance.is_none() {
        errors.push(error(&[], "give at least one of name, description, appearance"));
    }
    if let Some(Err(message)) = request.name.as_deref().map(check_name) {
        errors.push(error(&["name"], message));
    }
    check_description(request.description.as_deref().unwrap_or(""), &mut errors);
    if let Some(appearance) = &request.appearance {
        check_appearance(appearance, &mut errors);
    }
    finish(errors)?;
    let patch = ChatbotPatch {
        name: request.name,
        description: request.description,
        appearance: request.appearance.as_ref().map(appearance_json).transpose()?,
    };
    let updated = state.store.update_chatbot(&chatbot.id, patch, Utc::now()).await?;
    Ok(ok(ChatbotData { chatbot: to_wire(&updated) }))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let chatbot = load(&state, &caller, &id).await?;
    state.store.delete_chatbot(&chatbot.id).await?;
    tracing::info!(chatbot_id = %chatbot.id, "chatbot deleted");
    Ok(ok(Deleted { id: chatbot.id, deleted: true }))
}
