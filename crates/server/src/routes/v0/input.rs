//! v0's checks of ids and bodies; every problem is reported at once.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};
use sitegpt_access::email::normalize_email;

use super::envelope::{Detail, V0Error, detail};
use super::operation::{BODY_LIMIT, ID_MAX_DIGITS, Operation};
use crate::issue::NAME_MAX;

/// The validated body of an operation.
pub(crate) enum Input {
    None,
    User(Option<NewBrandUser>),
    Quota(Option<Option<i64>>),
}

pub(crate) struct NewBrandUser {
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    pub(crate) message_quota: Option<i64>,
}

pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= ID_MAX_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn check_ids(op: &Operation) -> Vec<Detail> {
    let mut problems = Vec::new();
    let mut check = |name: &str, value: &str| {
        if value.is_empty() {
            problems.push(detail(&[name], "Required"));
        } else if !is_id(value) {
            problems.push(detail(&[name], format!("Must be a numeric id of at most {ID_MAX_DIGITS} digits")));
        }
    };
    check("brandId", op.brand_id());
    if let Some(user_id) = op.user_id() {
        check("userId", user_id);
    }
    problems
}

/// The body as a JSON object (an empty body is `{}`); shape problems are
/// added to `problems`.
pub(crate) async fn read_body(
    op: &Operation,
    headers: &HeaderMap,
    body: Body,
    problems: &mut Vec<Detail>,
) -> Result<Map<String, Value>, V0Error> {
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(e) if crate::serve::is_body_timeout(&e) => {
            return Err(V0Error::new(
                op,
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "The request body did not arrive in time",
            ));
        }
        Err(_) => {
            return Err(V0Error::new(
                op,
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_BODY_TOO_LARGE",
                format!("Request bodies are limited to {} KiB", BODY_LIMIT / 1024),
            ));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_json = crate::request::media_type(headers).as_deref() == Some("application/json");
    if !is_json {
        problems.push(detail(&[], "Send the body as JSON with Content-Type: application/json"));
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => {
            problems.push(detail(&[], "Expected object"));
            Ok(Map::new())
        }
        Err(_) => {
            problems.push(detail(&[], "Malformed JSON"));
            Ok(Map::new())
        }
    }
}

pub(crate) fn unknown_keys(body: &Map<String, Value>, known: &[&str], problems: &mut Vec<Detail>) {
    for key in body.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(detail(&[key.as_str()], "Unrecognized key"));
    }
}

/// `messageQuota`: a whole number ≥ 0, or `null` for unlimited.
pub(crate) fn quota_value(value: Option<&Value>, problems: &mut Vec<Detail>) -> Option<Option<i64>> {
    match value {
        None => {
            problems.push(detail(&["messageQuota"], "Required"));
            None
        }
        Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(q) if q >= 0 => Some(Some(q)),
            _ => {
                problems.push(detail(&["messageQuota"], "Must be a whole number of at least 0, or null for unlimited"));
                None
            }
        },
        Some(_) => {
            problems.push(detail(&["messageQuota"], "Expected number or null"));
            None
        }
    }
}

pub(crate) fn check_new_user(body: &Map<String, Value>, problems: &mut Vec<Detail>) -> Option<NewBrandUser> {
    unknown_keys(body, &["email", "name", "messageQuota"], problems);
    let email = match body.get("email") {
        None => {
            problems.push(detail(&["email"], "Required"));
            None
        }
        Some(Value::String(s)) => match normalize_email(s) {
            Ok(email) => Some(email),
            Err(_) => {
                problems.push(detail(&["email"], "Invalid email"));
                None
            }
        },
        Some(_) => {
            problems.push(detail(&["email"], "Expected string"));
            None
        }
    };
    let name = match body.get("name") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if crate::issue::check_name(s).is_ok() => Some(Some(s.clone())),
        Some(Value::String(_)) => {
            problems.push(detail(&["name"], format!("Must be 1 to {NAME_MAX} characters, without control characters")));
            None
        }
        Some(_) => {
            problems.push(detail(&["name"], "Expected string"));
            None
        }
    };
    let message_quota = match body.get("messageQuota") {
        None => Some(None),
        value => quota_value(value, problems),
    };
    Some(NewBrandUser { email: email?, name: name?, message_quota: message_quota? })
}

pub(crate) fn check_quota(body: &Map<String, Value>, problems: &mut Vec<Detail>) -> Option<Option<i64>> {
    unknown_keys(body, &["messageQuota"], problems);
    quota_value(body.get("messageQuota"), problems)
}
