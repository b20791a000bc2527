//! `/api/v2/chatbots/{chatbotId}/settings`: read the settings by group, and
//! change any part of them with a JSON merge patch (RFC 7396).

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use serde_json::Value;
use sitegpt_api_types::content::{ChatbotSettings, SettingsData};
use sitegpt_api_types::{FieldError, PathSegment};

use super::ok;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::request::JsonBody;
use crate::state::AppState;

async fn current(state: &AppState, chatbot_id: &str) -> Result<ChatbotSettings, ApiError> {
    match state.store.settings(chatbot_id).await? {
        Some(text) => serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("stored settings: {e}"))),
        None => Ok(ChatbotSettings::default()),
    }
}

pub async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let chatbot = super::chatbots::load(&state, &caller, &id).await?;
    Ok(ok(SettingsData { settings: current(&state, &chatbot.id).await? }))
}

/// RFC 7396: objects merge, `null` removes (back to the default), the rest
/// replaces; a patch object replaces a non-object target with `{}` first.
fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

fn check(settings: &ChatbotSettings) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let mut add = |path: &[&str], message: &str| {
        errors.push(FieldError { path: path.iter().map(|p| PathSegment::from(*p)).collect(), message: message.into() });
    };
    if settings.general.display_name.chars().count() > 120 {
        add(&["general", "displayName"], "displayName must be at most 120 characters");
    }
    let language = &settings.localization.language;
    if !(2..=35).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        add(&["localization", "language"], "language must be a language tag such as en or pt-BR");
    }
    let zone = &settings.localization.timezone;
    if zone.is_empty() || zone.len() > 64 || !zone.chars().all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)) {
        add(&["localization", "timezone"], "timezone must be an IANA time zone such as Europe/Paris");
    }
    if !(0.0..=1.0).contains(&settings.advanced.temperature) {
        add(&["advanced", "temperature"], "temperature must be between 0 and 1");
    }
    if !(1..=1000).contains(&settings.advanced.max_messages_per_conversation) {
        add(&["advanced", "maxMessagesPerConversation"], "maxMessagesPerConversation must be between 1 and 1000");
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<Value>,
) -> Result<Response, ApiError> {
    let chatbot = super::chatbots::load(&state, &caller, &id).await?;
    let patch = body.parse()?;
    if !patch.is_object() {
        return Err(ApiError::validation(vec![], "send a JSON object with the settings to change"));
    }
    let mut merged =
        serde_json::to_value(current(&state, &chatbot.id).await?).map_err(|e| ApiError::Internal(e.to_string()))?;
    merge(&mut merged, &patch);
    let settings: ChatbotSettings = crate::request::parse_json(merged.to_string().as_bytes())?;
    check(&settings)?;
    let text = serde_json::to_string(&settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.save_settings(&chatbot.id, text, Utc::now()).await?;
    Ok(ok(SettingsData { settings }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(&mut target, &json!({"a": {"b": 5, "c": null}, "e": [1]}));
        assert_eq!(target, json!({"a": {"b": 5}, "d": 3, "e": [1]}));
    }

    /// The test cases of RFC 7396's appendix A, nested nulls among them.
    #[test]
    fn merge_patch_passes_the_rfc_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
            (json!({}), json!({"a": {"b": null}}), json!({"a": {}})),
        ];
        for (target, patch, expected) in cases {
            let mut merged = target.clone();
            merge(&mut merged, &patch);
            assert_eq!(merged, expected, "{target} patched with {patch}");
        }
    }
}
