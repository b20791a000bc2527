//! Request bodies, read after authorization: a JSON object whose fields are
//! checked one by one, every problem reported under its field (422).

use std::collections::BTreeMap;

use axum::body::Bytes;
use serde_json::{Map, Value};
use sitegpt_store::pulse::PlanLimits;

use super::error::ApiError;

/// The longest cadence: once a day.
pub const MAX_CADENCE_SECONDS: u64 = 86_400;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_URL_BYTES: usize = 2048;

/// A JSON object body and the problems found in it so far.
pub struct Input {
    fields: Map<String, Value>,
    errors: BTreeMap<&'static str, Vec<String>>,
}

impl Input {
    /// Parses `body` as a JSON object (an empty body is an empty object).
    pub fn parse(body: &Bytes) -> Result<Input, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input { fields: Map::new(), errors: BTreeMap::new() });
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => Ok(Input { fields, errors: BTreeMap::new() }),
            Ok(_) => Err(ApiError::BadBody("The body must be a JSON object.".into())),
            Err(e) => Err(ApiError::BadBody(format!("The body is not valid JSON: {e}."))),
        }
    }

    fn error(&mut self, field: &'static str, message: String) {
        self.errors.entry(field).or_default().push(message);
    }

    /// `Some(value)` when given; `None` when absent.
    fn given(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// A required or optional name: 1 to 100 characters, trimmed.
    pub fn name(&mut self, field: &'static str, required: bool) -> Option<String> {
        match self.given(field).cloned() {
            None if required => self.error(field, format!("The {field} field is required.")),
            None => {}
            Some(Value::String(s)) => {
                let s = s.trim().to_owned();
                let chars = s.chars().count();
                if chars == 0 {
                    self.error(field, format!("The {field} field is required."));
                } else if chars > MAX_NAME_CHARS {
                    self.error(
                        field,
                        format!("The {field} field must not be greater than {MAX_NAME_CHARS} characters."),
                    );
                } else if s.chars().any(char::is_control) {
                    self.error(field, format!("The {field} field must not contain control characters."));
                } else {
                    return Some(s);
                }
            }
            Some(_) => self.error(field, format!("The {field} field must be a string.")),
        }
        None
    }

    /// An absolute http or https URL with a host and no credentials.
    pub fn url(&mut self, field: &'static str, required: bool) -> Option<String> {
        match self.given(field).cloned() {
            None if required => self.error(field, format!("The {field} field is required.")),
            None => {}
            Some(Value::String(s)) => {
                let s = s.trim();
                match url::Url::parse(s) {
                    _ if s.len() > MAX_URL_BYTES => {
                        self.error(field, format!("The {field} field must not be greater than {MAX_URL_BYTES} bytes."))
                    }
                    Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                        if !url.username().is_empty() || url.password().is_some() {
                            self.error(field, format!("The {field} field must not contain credentials."));
                        } else {
                            return Some(url.to_string());
                        }
                    }
                    _ => self.error(field, format!("The {field} field must be a valid http or https URL.")),
                }
            }
            Some(_) => self.error(field, format!("The {field} field must be a string.")),
        }
        None
    }

    /// An integer in `min..=max`: `Some(Some(n))` given, `Some(None)` given
    /// as `null` where `nullable`, `None` absent (or wrong).
    pub fn integer(&mut self, field: &'static str, min: u64, max: u64, nullable: bool) -> Option<Option<u32>> {
        match self.given(field).cloned() {
            None => None,
            Some(Value::Null) if nullable => Some(None),
            Some(Value::Number(n)) => match n.as_u64().filter(|v| (min..=max).contains(v)) {
                Some(v) => u32::try_from(v).ok().map(Some),
                None => {
                    self.error(field, format!("The {field} field must be an integer between {min} and {max}."));
                    None
                }
            },
            Some(_) => {
                let kind = if nullable { "an integer or null" } else { "an integer" };
                self.error(field, format!("The {field} field must be {kind}."));
                None
            }
        }
    }

    /// A cadence the plan allows.
    pub fn cadence(&mut self, field: &'static str, limits: &PlanLimits, nullable: bool) -> Option<Option<u32>> {
        self.integer(field, u64::from(limits.min_cadence_seconds), MAX_CADENCE_SECONDS, nullable)
    }

    pub fn boolean(&mut self, field: &'static str) -> Option<bool> {
        match self.given(field) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(field, format!("The {field} field must be true or false."));
                None
            }
        }
    }

    /// The problems found, as a 422, or nothing.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::Invalid(self.errors)) }
    }
}
