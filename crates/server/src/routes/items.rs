//! Content under a chatbot, one family per scope resource: knowledge,
//! personas, instructions, starters, follow-ups and leads. Every family has
//! the same five routes, served by the generic handlers here; an
//! [`ItemKind`] says what a family's records look like and how they are
//! validated.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sitegpt_access::Scope;
use sitegpt_access::id::{is_plausible_id, new_prefixed_id};
use sitegpt_api_types::content::{
    CreateKnowledgeSource, Instruction, Item, KnowledgeSource, KnowledgeStatus, KnowledgeType, Lead, Persona,
    Suggestion, UpdateInstruction, UpdateKnowledgeSource, UpdatePersona, UpdateSuggestion,
};
use sitegpt_api_types::{Deleted, FieldError, Page, PathSegment};
use sitegpt_store::{ChatbotItem, ItemQuery};

use super::chatbots::ListParams;
use super::paging::{next_page, window};
use super::{created, ok};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::request::{JsonBody, QueryParams};
use crate::state::AppState;

/// Problems found in a body, with their paths.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, path: &[&str], message: impl Into<String>) {
        self.0.push(FieldError { path: path.iter().map(|p| PathSegment::from(*p)).collect(), message: message.into() });
    }

    /// Checks a text field's length in characters (and that it is not blank).
    fn text(&mut self, field: &str, value: &str, max: usize) {
        let chars = value.chars().count();
        if value.trim().is_empty() {
            self.add(&[field], format!("{field} must not be empty"));
        } else if chars > max {
            self.add(&[field], format!("{field} must be at most {max} characters (it has {chars})"));
        }
    }

    fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.text(field, value, max);
        }
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() { Ok(value) } else { Err(ApiError::Validation(self.0)) }
    }
}

/// A family of items under a chatbot.
pub trait ItemKind: Send + Sync + 'static {
    /// The stored kind and the path segment (`knowledge`).
    const KIND: &'static str;
    /// The key of a single item in `data` (`knowledgeSource`).
    const SINGULAR: &'static str;
    /// Id prefix of its items.
    const PREFIX: &'static str;
    const COLLECTION: &'static str;
    const ITEM: &'static str;
    const READ: Scope;
    const WRITE: Scope;
    const DELETE: Scope;
    /// A valid create body and a valid update body, as JSON.
    const EXAMPLE_CREATE: &'static str;
    const EXAMPLE_UPDATE: &'static str;
    type Fields: Serialize + DeserializeOwned + JsonSchema + Send;
    type Create: DeserializeOwned + JsonSchema + Send;
    type Update: DeserializeOwned + JsonSchema + Send;

    fn create(request: Self::Create) -> Result<Self::Fields, ApiError>;
    fn update(current: Self::Fields, request: Self::Update) -> Result<Self::Fields, ApiError>;
}

fn to_wire<K: ItemKind>(item: &ChatbotItem) -> Result<Item<K::Fields>, ApiError> {
    let fields = serde_json::from_str(&item.data)
        .map_err(|e| ApiError::Internal(format!("stored {} {} is not valid: {e}", K::KIND, item.id)))?;
    Ok(Item {
        id: item.id.clone(),
        chatbot_id: item.chatbot_id.clone(),
        fields,
        created_at: item.created_at,
        updated_at: item.updated_at,
    })
}

/// `data` of a single item: `{"<singular>": item}`.
fn single<K: ItemKind>(item: Item<K::Fields>) -> Result<Map<String, Value>, ApiError> {
    let value = serde_json::to_value(item).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Map::from_iter([(K::SINGULAR.to_owned(), value)]))
}

/// The schema of `data` for a single item, for the API document.
pub fn single_schema<K: ItemKind>(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<Item<K::Fields>>();
    json_schema!({"type": "object", "required": [K::SINGULAR], "properties": {K::SINGULAR: item}})
}

/// The chatbot in the path, loaded and authorized (steps 4–6).
async fn chatbot(state: &AppState, caller: &Caller, chatbot_id: &str) -> Result<String, ApiError> {
    super::chatbots::load(state, caller, chatbot_id).await.map(|c| c.id)
}

/// The chatbot and the item in the path; missing either, or an item of
/// another chatbot, is 404 (decided before subscription and role).
async fn item<K: ItemKind>(
    state: &AppState,
    caller: &Caller,
    chatbot_id: &str,
    item_id: &str,
) -> Result<ChatbotItem, ApiError> {
    let chatbot = super::chatbots::find(state, chatbot_id).await?;
    let item = if is_plausible_id(item_id) { state.store.item(K::KIND, item_id).await? } else { None };
    caller.authorize(super::chatbots::inside(
        caller,
        chatbot.as_ref(),
        item.as_ref().map(|i| i.chatbot_id.as_str()),
    ))?;
    item.ok_or_else(ApiError::not_found)
}

pub async fn list<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path(chatbot_id): Path<String>,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    let chatbot_id = chatbot(&state, &caller, &chatbot_id).await?;
    let params = params.parse()?;
    let (limit, after) = window(params.limit.as_deref(), params.cursor.as_deref())?;
    let items = state.store.list_items(ItemQuery { chatbot_id, kind: K::KIND.into(), limit: limit + 1, after }).await?;
    let (items, next_cursor) = next_page(items, limit, |i| (i.created_at, i.id.as_str()));
    let items = items.iter().map(to_wire::<K>).collect::<Result<Vec<_>, _>>()?;
    Ok(ok(Page { items, next_cursor }))
}

pub async fn create<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path(chatbot_id): Path<String>,
    body: JsonBody<K::Create>,
) -> Result<Response, ApiError> {
    let chatbot_id = chatbot(&state, &caller, &chatbot_id).await?;
    let fields = K::create(body.parse()?)?;
    let now = Utc::now();
    let stored = state
        .store
        .insert_item(ChatbotItem {
            id: new_prefixed_id(K::PREFIX),
            account_id: caller.account_id().to_owned(),
            chatbot_id,
            kind: K::KIND.into(),
            data: serde_json::to_string(&fields).map_err(|e| ApiError::Internal(e.to_string()))?,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok(created(single::<K>(to_wire::<K>(&stored)?)?))
}

pub async fn show<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, item_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let stored = item::<K>(&state, &caller, &chatbot_id, &item_id).await?;
    Ok(ok(single::<K>(to_wire::<K>(&stored)?)?))
}

pub async fn update<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, item_id)): Path<(String, String)>,
    body: JsonBody<K::Update>,
) -> Result<Response, ApiError> {
    let stored = item::<K>(&state, &caller, &chatbot_id, &item_id).await?;
    let current = to_wire::<K>(&stored)?.fields;
    let fields = K::update(current, body.parse()?)?;
    let data = serde_json::to_string(&fields).map_err(|e| ApiError::Internal(e.to_string()))?;
    let updated = state.store.update_item(K::KIND, &stored.id, data, Utc::now()).await?;
    Ok(ok(single::<K>(to_wire::<K>(&updated)?)?))
}

pub async fn delete<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((chatbot_id, item_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let stored = item::<K>(&state, &caller, &chatbot_id, &item_id).await?;
    state.store.delete_item(K::KIND, &stored.id).await?;
    Ok(ok(Deleted { id: stored.id, deleted: true }))
}

const URL_MAX: usize = 2_048;
const CONTENT_MAX: usize = 60_000;
const PROMPT_MAX: usize = 10_000;
const SUGGESTION_MAX: usize = 300;

fn check_url(problems: &mut Problems, url: &str) {
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= URL_MAX
        && !url.chars().any(char::is_whitespace)
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if !valid {
        problems.add(&["url"], "url must be an http(s) URL of at most 2048 characters");
    }
}

fn check_source(problems: &mut Problems, source: &KnowledgeSource) {
    match source.kind {
        KnowledgeType::Url => match source.url.as_deref() {
            Some(url) => check_url(problems, url),
            None => problems.add(&["url"], "a url source needs url"),
        },
        KnowledgeType::Text => match source.content.as_deref() {
            Some(content) => problems.text("content", content, CONTENT_MAX),
            None => problems.add(&["content"], "a text source needs content"),
        },
        KnowledgeType::File => match source.file_name.as_deref() {
            Some(name) => problems.text("fileName", name, 255),
            None => problems.add(&["fileName"], "a file source needs fileName"),
        },
    }
}

macro_rules! kind {
    (
        $name:ident, $kind:literal, $singular:literal, $prefix:literal, $read:ident, $write:ident, $delete:ident,
        $create:literal, $update:literal
    ) => {
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            const PATHS: (&'static str, &'static str) = (
                concat!("/api/v2/chatbots/{chatbotId}/", $kind),
                concat!("/api/v2/chatbots/{chatbotId}/", $kind, "/{itemId}"),
            );
        }

        impl ItemKind for $name {
            const KIND: &'static str = $kind;
            const SINGULAR: &'static str = $singular;
            const PREFIX: &'static str = $prefix;
            const COLLECTION: &'static str = $name::PATHS.0;
            const ITEM: &'static str = $name::PATHS.1;
            const READ: Scope = Scope::$read;
            const WRITE: Scope = Scope::$write;
            const DELETE: Scope = Scope::$delete;
            const EXAMPLE_CREATE: &'static str = $create;
            const EXAMPLE_UPDATE: &'static str = $update;
            type Fields = <$name as KindBody>::Fields;
            type Create = <$name as KindBody>::Create;
            type Update = <$name as KindBody>::Update;

            fn create(request: Self::Create) -> Result<Self::Fields, ApiError> {
                <$name as KindBody>::create(request)
            }

            fn update(current: Self::Fields, request: Self::Update) -> Result<Self::Fields, ApiError> {
                <$name as KindBody>::update(current, request)
            }
        }
    };
}

/// The body types and validation of one family.
pub trait KindBody {
    type Fields: Serialize + DeserializeOwned + JsonSchema + Send;
    type Create: DeserializeOwned + JsonSchema + Send;
    type Update: DeserializeOwned + JsonSchema + Send;
    fn create(request: Self::Create) -> Result<Self::Fields, ApiError>;
    fn update(current: Self::Fields, request: Self::Update) -> Result<Self::Fields, ApiError>;
}

kind!(
    Knowledge,
    "knowledge",
    "knowledgeSource",
    "ks_",
    KnowledgeRead,
    KnowledgeWrite,
    KnowledgeDelete,
    r#"{"type":"text","content":"Opening hours: 9 to 5"}"#,
    r#"{"status":"ready"}"#
);
kind!(
    Personas,
    "personas",
    "persona",
    "pe_",
    PersonasRead,
    PersonasWrite,
    PersonasDelete,
    r#"{"name":"Formal","prompt":"Be precise."}"#,
    r#"{"prompt":"Be brief."}"#
);
kind!(
    Instructions,
    "instructions",
    "instruction",
    "in_",
    InstructionsRead,
    InstructionsWrite,
    InstructionsDelete,
    r#"{"content":"Answer in English."}"#,
    r#"{"content":"Answer in French."}"#
);
kind!(
    Starters,
    "starters",
    "starter",
    "st_",
    StartersRead,
    StartersWrite,
    StartersDelete,
    r#"{"text":"What does it cost?"}"#,
    r#"{"text":"Where are you?"}"#
);
kind!(
    Followups,
    "followups",
    "followup",
    "fu_",
    FollowupsRead,
    FollowupsWrite,
    FollowupsDelete,
    r#"{"text":"Shall I email you?"}"#,
    r#"{"text":"Did that help?"}"#
);
kind!(
    Leads,
    "leads",
    "lead",
    "ld_",
    LeadsRead,
    LeadsWrite,
    LeadsDelete,
    r#"{"email":"bob@example.com","phone":"+44 20 7946 0000"}"#,
    r#"{"notes":"Call back"}"#
);

impl KindBody for Knowledge {
    type Fields = KnowledgeSource;
    type Create = CreateKnowledgeSource;
    type Update = UpdateKnowledgeSource;

    fn create(r: CreateKnowledgeSource) -> Result<KnowledgeSource, ApiError> {
        let source = KnowledgeSource {
            kind: r.kind,
            url: r.url,
            content: r.content,
            file_name: r.file_name,
            size_bytes: r.size_bytes,
            status: KnowledgeStatus::Pending,
        };
        let mut problems = Problems::default();
        check_source(&mut problems, &source);
        problems.finish(source)
    }

    fn update(mut current: KnowledgeSource, r: UpdateKnowledgeSource) -> Result<KnowledgeSource, ApiError> {
        let mut problems = Problems::default();
        if r == UpdateKnowledgeSource::default() {
            problems.add(&[], "give at least one field to change");
        }
        current.url = r.url.or(current.url);
        current.content = r.content.or(current.content);
        current.file_name = r.file_name.or(current.file_name);
        current.size_bytes = r.size_bytes.or(current.size_bytes);
        current.status = r.status.unwrap_or(current.status);
        check_source(&mut problems, &current);
        problems.finish(current)
    }
}

impl KindBody for Personas {
    type Fields = Persona;
    type Create = Persona;
    type Update = UpdatePersona;

    fn create(r: Persona) -> Result<Persona, ApiError> {
        let mut problems = Problems::default();
        problems.text("name", &r.name, 120);
        problems.text("prompt", &r.prompt, PROMPT_MAX);
        problems.finish(r)
    }

    fn update(current: Persona, r: UpdatePersona) -> Result<Persona, ApiError> {
        let mut problems = Problems::default();
        if r == UpdatePersona::default() {
            problems.add(&[], "give at least one field to change");
        }
        problems.optional_text("name", r.name.as_deref(), 120);
        problems.optional_text("prompt", r.prompt.as_deref(), PROMPT_MAX);
        problems.finish(Persona { name: r.name.unwrap_or(current.name), prompt: r.prompt.unwrap_or(current.prompt) })
    }
}

impl KindBody for Instructions {
    type Fields = Instruction;
    type Create = Instruction;
    type Update = UpdateInstruction;

    fn create(r: Instruction) -> Result<Instruction, ApiError> {
        let mut problems = Problems::default();
        problems.text("content", &r.content, PROMPT_MAX);
        problems.finish(r)
    }

    fn update(current: Instruction, r: UpdateInstruction) -> Result<Instruction, ApiError> {
        let mut problems = Problems::default();
        match &r.content {
            Some(content) => problems.text("content", content, PROMPT_MAX),
            None => problems.add(&[], "give at least one field to change"),
        }
        problems.finish(Instruction { content: r.content.unwrap_or(current.content) })
    }
}

fn suggestion_create(r: Suggestion) -> Result<Suggestion, ApiError> {
    let mut problems = Problems::default();
    problems.text("text", &r.text, SUGGESTION_MAX);
    problems.finish(r)
}

fn suggestion_update(current: Suggestion, r: UpdateSuggestion) -> Result<Suggestion, ApiError> {
    let mut problems = Problems::default();
    match &r.text {
        Some(text) => problems.text("text", text, SUGGESTION_MAX),
        None => problems.add(&[], "give at least one field to change"),
    }
    problems.finish(Suggestion { text: r.text.unwrap_or(current.text) })
}

/// Starters and follow-ups are both one short text.
macro_rules! suggestion_body {
    ($kind:ty) => {
        impl KindBody for $kind {
            type Fields = Suggestion;
            type Create = Suggestion;
            type Update = UpdateSuggestion;

            fn create(r: Suggestion) -> Result<Suggestion, ApiError> {
                suggestion_create(r)
            }

            fn update(current: Suggestion, r: UpdateSuggestion) -> Result<Suggestion, ApiError> {
                suggestion_update(current, r)
            }
        }
    };
}

suggestion_body!(Starters);
suggestion_body!(Followups);

fn check_lead(problems: &mut Problems, lead: &Lead) {
    if lead.name.is_none() && lead.email.is_none() && lead.phone.is_none() {
        problems.add(&[], "a lead needs at least one of name, email and phone");
    }
    problems.optional_text("name", lead.name.as_deref(), 120);
    if let Some(email) = &lead.email {
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
        if !valid {
            problems.add(&["email"], "email must be an e-mail address");
        }
    }
    if let Some(phone) = &lead.phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let valid =
            phone.len() <= 40 && digits >= 5 && phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !valid {
            problems.add(&["phone"], "phone must be a phone number (digits, spaces, + - ( ) .)");
        }
    }
    problems.optional_text("notes", lead.notes.as_deref(), 5_000);
}

impl KindBody for Leads {
    type Fields = Lead;
    type Create = Lead;
    type Update = Lead;

    fn create(r: Lead) -> Result<Lead, ApiError> {
        let mut problems = Problems::default();
        check_lead(&mut problems, &r);
        problems.finish(r)
    }

    fn update(current: Lead, r: Lead) -> Result<Lead, ApiError> {
        let mut problems = Problems::default();
        if r == Lead::default() {
            problems.add(&[], "give at least one field to change");
        }
        let merged = Lead {
            name: r.name.or(current.name),
            email: r.email.or(current.email),
            phone: r.phone.or(current.phone),
            notes: r.notes.or(current.notes),
        };
        check_lead(&mut problems, &merged);
        problems.finish(merged)
    }
}
