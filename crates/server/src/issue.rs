//! Minting tokens, shared by the API, the admin commands and (later) the
//! dashboard and device flow: request validation, issuance, and the wire
//! shape of a stored token.

use chrono::{DateTime, Utc};
use serde_json::json;
use sitegpt_access::id::{IdKind, is_plausible_id, new_id};
use sitegpt_access::issuance::{Issuer, check_issuance};
use sitegpt_access::net::IpAllowlist;
use sitegpt_access::{ChatbotRestriction, CreatedVia, IssuanceDenied, PlainToken, Scope, ScopeSet, resolve_expiry};
use sitegpt_api_types::{CreateTokenRequest, FieldError, PathSegment, Token};
use sitegpt_store::{Actor, NewToken, Rotation, Store, TokenRecord};

use crate::error::ApiError;

pub const NAME_MAX: usize = 120;
/// More chatbots than any account has; bounds the work one request can ask for.
pub const CHATBOTS_MAX: usize = 100;

/// A validated request for a token.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub name: String,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    pub expires_at: DateTime<Utc>,
    /// The field the expiry was chosen with (`expiresInDays` or
    /// `expiresAt`); `None` when it is the default.
    pub expiry_field: Option<&'static str>,
    pub allowed_ips: IpAllowlist,
}

fn err(path: Vec<PathSegment>, message: impl Into<String>) -> FieldError {
    FieldError { path, message: message.into() }
}

/// Checks a token name: 1–120 characters, not blank, no control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || name.trim().is_empty() {
        Err("name must not be empty".into())
    } else if chars > NAME_MAX {
        Err(format!("name must be at most {NAME_MAX} characters (it has {chars})"))
    } else if name.chars().any(char::is_control) {
        Err("name must not contain control characters".into())
    } else {
        Ok(())
    }
}

fn catalog_list() -> String {
    Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Validates every field and reports every problem at once.
pub fn validate(request: CreateTokenRequest, now: DateTime<Utc>) -> Result<TokenSpec, ApiError> {
    let mut errors = Vec::new();
    if let Err(message) = check_name(&request.name) {
        errors.push(err(vec!["name".into()], message));
    }
    if request.scopes.is_empty() {
        errors.push(err(vec!["scopes".into()], "scopes must name at least one scope"));
    }
    let mut scopes = ScopeSet::EMPTY;
    let mut named_catalog = false;
    for (index, name) in request.scopes.iter().enumerate() {
        match name.parse::<Scope>() {
            Ok(scope) => scopes.insert(scope),
            Err(unknown) => {
                // The catalog is named once, with the first unknown scope.
                let message = if named_catalog {
                    unknown.to_string()
                } else {
                    named_catalog = true;
                    format!("{unknown}; valid scopes are: {}", catalog_list())
                };
                errors.push(err(vec!["scopes".into(), index.into()], message));
            }
        }
    }
    let chatbot_ids = request.chatbot_ids.unwrap_or_default();
    if chatbot_ids.len() > CHATBOTS_MAX {
        errors.push(err(vec!["chatbotIds".into()], format!("at most {CHATBOTS_MAX} chatbots")));
    }
    for (index, id) in chatbot_ids.iter().enumerate() {
        if !is_plausible_id(id) {
            errors.push(err(vec!["chatbotIds".into(), index.into()], "not a chatbot id"));
        }
    }
    let allowed_ips = match IpAllowlist::parse(request.allowed_ips.as_deref().unwrap_or_default()) {
        Ok(list) => list,
        Err(message) => {
            errors.push(err(vec!["allowedIps".into()], message));
            IpAllowlist::anywhere()
        }
    };
    let expiry_field = match (request.expires_in_days, request.expires_at) {
        (Some(_), None) => Some("expiresInDays"),
        (_, Some(_)) => Some("expiresAt"),
        (None, None) => None,
    };
    let expires_at = match resolve_expiry(request.expires_in_days, request.expires_at, now) {
        Ok(at) => Some(at),
        Err(e) => {
            let field = match e {
                sitegpt_access::ExpiryError::DaysOutOfRange => "expiresInDays",
                _ => "expiresAt",
            };
            errors.push(err(vec![field.into()], e.to_string()));
            None
        }
    };
    match expires_at {
        Some(expires_at) if errors.is_empty() => Ok(TokenSpec {
            name: request.name,
            scopes,
            chatbots: ChatbotRestriction::from_ids(chatbot_ids),
            expires_at,
            expiry_field,
            allowed_ips,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Fails with 400 naming each chatbot id that is not the account's.
pub async fn check_chatbots_exist(
    store: &dyn Store,
    account_id: &str,
    chatbots: &ChatbotRestriction,
) -> Result<(), ApiError> {
    if !chatbots.is_restricted() {
        return Ok(());
    }
    let found = store.existing_chatbots(account_id, chatbots.ids()).await?;
    let errors: Vec<FieldError> = chatbots
        .ids()
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(index, id)| err(vec!["chatbotIds".into(), index.into()], format!("no chatbot `{id}` in this account")))
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

/// Stores a new token and returns it with its plaintext (the only copy).
pub async fn issue(
    store: &dyn Store,
    account_id: &str,
    user_id: &str,
    spec: TokenSpec,
    via: CreatedVia,
    now: DateTime<Utc>,
    by: &Actor,
) -> Result<(TokenRecord, PlainToken), ApiError> {
    let plain = PlainToken::generate();
    let record = store
        .insert_token(
            NewToken {
                id: new_id(IdKind::Token),
                account_id: account_id.to_owned(),
                user_id: user_id.to_owned(),
                name: spec.name,
                hash: plain.hash(),
                hint: plain.hint(),
                scopes: spec.scopes,
                chatbots: spec.chatbots,
                created_via: via,
                now,
                expires_at: spec.expires_at,
                allowed_ips: spec.allowed_ips,
            },
            by,
        )
        .await?;
    tracing::info!(token_id = %record.id, account_id, user_id, via = via.as_str(), "token issued");
    Ok((record, plain))
}

fn field_path(field: &str, index: Option<usize>) -> serde_json::Value {
    match index {
        Some(index) => json!([field, index]),
        None => json!([field]),
    }
}

/// 403 naming what the issuer may not grant, with each scope's and chatbot's
/// place in the request.
pub fn issuance_error(
    denied: IssuanceDenied,
    requested_scopes: &[sitegpt_access::Scope],
    chatbot_ids: &[String],
    expiry_field: Option<&str>,
) -> ApiError {
    let mut details = Vec::new();
    for scope in &denied.scopes {
        let index = requested_scopes.iter().position(|s| s == scope);
        details.push(json!({
            "path": field_path("scopes", index),
            "scope": scope.as_str(),
            "message": format!("you may not grant `{scope}`"),
        }));
    }
    for id in &denied.chatbots {
        let index = chatbot_ids.iter().position(|c| c == id);
        details.push(json!({
            "path": field_path("chatbotIds", index),
            "chatbotId": id,
            "message": format!("you may not grant access to chatbot `{id}`"),
        }));
    }
    if denied.unrestricted_from_restricted {
        details.push(json!({
            "path": ["chatbotIds"],
            "message": "a chatbot-restricted token can only create tokens restricted to its own chatbots",
        }));
    }
    if let Some(latest) = denied.outlives {
        details.push(json!({
            "path": [expiry_field.unwrap_or("expiresAt")],
            "latestExpiresAt": latest.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "message": "a token cannot outlive the token that creates it; ask for an earlier expiry",
        }));
    }
    ApiError::Forbidden { message: denied.message(), details }
}

/// Whether `issuer` may rotate `record`: not a revoked token (409), and,
/// since rotation hands out a working secret, nothing beyond what the issuer
/// could grant now (403).
pub fn check_rotation(record: &TokenRecord, issuer: &Issuer<'_>) -> Result<(), ApiError> {
    if record.revoked_at.is_some() {
        return Err(ApiError::Conflict("A revoked token cannot be rotated. Create a new token instead.".into()));
    }
    // Rotation's expiry is brought forward rather than refused (see `rotate`).
    check_issuance(issuer, record.scopes, &record.chatbots, issuer.cap_expiry(record.expires_at))
        .map_err(|denied| issuance_error(denied, &record.scopes.to_vec(), record.chatbots.ids(), None))
}

/// Gives a token a new secret with the same scopes, chatbots and lifetime;
/// the old secret stops working at once. A token rotated by a token expires
/// no later than that token.
pub async fn rotate(
    store: &dyn Store,
    record: &TokenRecord,
    issuer: &Issuer<'_>,
    now: DateTime<Utc>,
    by: &Actor,
) -> Result<(TokenRecord, PlainToken), ApiError> {
    let lifetime = record.expires_at - record.secret_issued_at;
    let plain = PlainToken::generate();
    let rotated = store
        .rotate_token(
            Rotation {
                token_id: record.id.clone(),
                hash: plain.hash(),
                hint: plain.hint(),
                now,
                expires_at: issuer.cap_expiry(now + lifetime),
            },
            by,
        )
        .await?;
    tracing::info!(token_id = %rotated.id, "token rotated");
    Ok((rotated, plain))
}

/// The API's view of a stored token.
pub fn to_wire(record: &TokenRecord) -> Token {
    Token {
        id: record.id.clone(),
        user_id: record.user_id.clone(),
        name: record.name.clone(),
        scopes: record.scopes.to_vec(),
        chatbot_ids: record.chatbots.ids().to_vec(),
        created_at: record.created_at,
        expires_at: record.expires_at,
        last_used_at: record.last_used_at,
        revoked_at: record.revoked_at,
        hint: record.hint.clone(),
        created_via: record.created_via,
        last_used_ip: record.last_used_ip.clone(),
        last_used_user_agent: record.last_used_user_agent.clone(),
        allowed_ips: record.allowed_ips.ranges().iter().map(ToString::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn request(body: serde_json::Value) -> CreateTokenRequest {
        serde_json::from_value(body).expect("shape")
    }

    fn paths(e: ApiError) -> Vec<serde_json::Value> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| serde_json::json!(e.path)).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn valid_requests_default_to_90_days() {
        let now = Utc::now();
        let spec = validate(request(serde_json::json!({"name": "n", "scopes": ["account:read", "account:read"]})), now)
            .expect("valid");
        assert_eq!(spec.expires_at, now + Duration::days(90));
        assert_eq!(spec.scopes.len(), 1);
        assert!(!spec.chatbots.is_restricted());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let now = Utc::now();
        let e = validate(
            request(serde_json::json!({
                "name": "x".repeat(121),
                "scopes": ["account:read", "admin:all"],
                "chatbotIds": ["cb_1", "../x"],
                "expiresInDays": 0
            })),
            now,
        )
        .expect_err("invalid");
        assert_eq!(
            paths(e),
            vec![
                serde_json::json!(["name"]),
                serde_json::json!(["scopes", 1]),
                serde_json::json!(["chatbotIds", 1]),
                serde_json::json!(["expiresInDays"]),
            ]
        );
        let e = validate(request(serde_json::json!({"name": " ", "scopes": []})), now).expect_err("invalid");
        assert_eq!(paths(e), vec![serde_json::json!(["name"]), serde_json::json!(["scopes"])]);
        let both = request(serde_json::json!({
            "name": "n", "scopes": ["account:read"], "expiresInDays": 5,
            "expiresAt": (now + Duration::days(5)).to_rfc3339()
        }));
        assert_eq!(paths(validate(both, now).expect_err("both")), vec![serde_json::json!(["expiresAt"])]);
    }

    #[test]
    fn names_are_counted_in_characters() {
        assert!(check_name(&"é".repeat(120)).is_ok());
        assert!(check_name(&"é".repeat(121)).is_err());
        assert!(check_name("tab\there").is_err());
        assert!(check_name("").is_err());
    }
}
