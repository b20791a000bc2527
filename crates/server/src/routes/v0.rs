//! The deprecated v0 API: whitelabel brands, their users, and v0 API keys.
//!
//! Served beside v2 for integrations written against it, with its own
//! credential (a UUID-shaped API key, stored only as a SHA-256 hash, sent as
//! `Authorization: Bearer <key>`; v2 tokens are not accepted here, nor v0
//! keys in v2), its own envelope (`{success, message, data, error}`), and
//! `Deprecation`, `Sunset` and `Link` headers on every answer.
//!
//! Each request is decided in this order: unknown path 404, method 405 (with
//! `Allow`), key 401 (429 for an address past its minute's budget of unknown
//! credentials), path and body 400, whitelabel customer and brand 403,
//! brand user 404; then the operation, whose failures are 500 without
//! internals.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sitegpt_access::Role;
use sitegpt_store::{Brand, BrandUser, StoreError, V0KeyOwner};

use crate::state::AppState;
use sitegpt_access::email::normalize_email;
use sitegpt_access::v0_key;

/// When v0 was deprecated (RFC 9745 `Deprecation`: `@` and Unix seconds):
/// 2026-01-01T00:00:00Z.
pub const DEPRECATED_AT: i64 = 1_767_225_600;
/// When v0 stops being served (RFC 8594 `Sunset`).
pub const SUNSET: &str = "Wed, 30 Jun 2027 23:59:59 GMT";
/// Bodies are small JSON objects.
const BODY_LIMIT: usize = 16 * 1024;
use crate::issue::NAME_MAX;
/// Ids are decimal numbers, as in the v0 documentation.
const ID_MAX_DIGITS: usize = 20;

/// The v0 operations.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    CreateUser { brand_id: String },
    GenerateKey { brand_id: String, user_id: String },
    UpdateQuota { brand_id: String, user_id: String },
}

impl Operation {
    /// The operation a path names, if any.
    fn parse(path: &str) -> Option<Operation> {
        let rest = path.strip_prefix("/api/v0/w/brands/")?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [brand, "users"] => Some(Operation::CreateUser { brand_id: (*brand).to_owned() }),
            [brand, "users", user, "api-key"] => {
                Some(Operation::GenerateKey { brand_id: (*brand).to_owned(), user_id: (*user).to_owned() })
            }
            [brand, "users", user, "quota"] => {
                Some(Operation::UpdateQuota { brand_id: (*brand).to_owned(), user_id: (*user).to_owned() })
            }
            _ => None,
        }
    }

    fn method(&self) -> Method {
        match self {
            Operation::CreateUser { .. } => Method::POST,
            Operation::GenerateKey { .. } | Operation::UpdateQuota { .. } => Method::PATCH,
        }
    }

    /// The start of this operation's error codes.
    fn code(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "CREATE_WHITELABEL_USER",
            Operation::GenerateKey { .. } => "GENERATE_API_KEY",
            Operation::UpdateQuota { .. } => "UPDATE_WHITELABEL_USER_QUOTA",
        }
    }

    /// The envelope's `message` when the operation fails.
    fn failure(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "Failed to create the whitelabel user",
            Operation::GenerateKey { .. } => "Failed to generate API key of the whitelabel user",
            Operation::UpdateQuota { .. } => "Failed to update the quota of the whitelabel user",
        }
    }

    /// The 403 message.
    fn forbidden(&self) -> &'static str {
        match self {
            Operation::CreateUser { .. } => "You are not authorized to create users of this whitelabel brand",
            Operation::GenerateKey { .. } => "You are not authorized to generate API key of the whitelabel user",
            Operation::UpdateQuota { .. } => "You are not authorized to update the quota of the whitelabel user",
        }
    }

    fn brand_id(&self) -> &str {
        match self {
            Operation::CreateUser { brand_id }
            | Operation::GenerateKey { brand_id, .. }
            | Operation::UpdateQuota { brand_id, .. } => brand_id,
        }
    }

    fn user_id(&self) -> Option<&str> {
        match self {
            Operation::CreateUser { .. } => None,
            Operation::GenerateKey { user_id, .. } | Operation::UpdateQuota { user_id, .. } => Some(user_id),
        }
    }
}

/// One problem with the request, in the envelope's `details`.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    path: Vec<Value>,
    message: String,
}

fn detail(path: &[&str], message: impl Into<String>) -> Detail {
    Detail { path: path.iter().map(|p| Value::String((*p).to_owned())).collect(), message: message.into() }
}

/// A v0 error answer.
#[derive(Debug)]
struct V0Error {
    status: StatusCode,
    /// The envelope's overall `message`.
    failure: &'static str,
    code: String,
    message: String,
    details: Option<Vec<Detail>>,
    allow: Option<Method>,
    retry_after: Option<u64>,
}

impl V0Error {
    fn new(op: &Operation, status: StatusCode, code: &str, message: impl Into<String>) -> V0Error {
        V0Error {
            status,
            failure: op.failure(),
            code: code.to_owned(),
            message: message.into(),
            details: None,
            allow: None,
            retry_after: None,
        }
    }

    fn invalid(op: &Operation, details: Vec<Detail>) -> V0Error {
        V0Error {
            details: Some(details),
            ..V0Error::new(op, StatusCode::BAD_REQUEST, "REQUEST_VALIDATION_FAILED", "Request body is not valid")
        }
    }

    fn unauthenticated(op: &Operation) -> V0Error {
        V0Error::new(
            op,
            StatusCode::UNAUTHORIZED,
            "API_KEY_NOT_VALID",
            "Authorization header does not contain valid API key",
        )
    }

    fn forbidden(op: &Operation) -> V0Error {
        V0Error::new(op, StatusCode::FORBIDDEN, &format!("{}_FORBIDDEN", op.code()), op.forbidden())
    }

    fn user_not_found(op: &Operation) -> V0Error {
        V0Error::new(op, StatusCode::NOT_FOUND, &format!("{}_USER_NOT_FOUND", op.code()), "Whitelabel user not found")
    }

    /// 500: the cause is logged, never sent.
    fn failed(op: &Operation, cause: &dyn std::fmt::Display) -> V0Error {
        tracing::error!(%cause, operation = op.code(), "v0 operation failed");
        V0Error::new(
            op,
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{}_FAILED", op.code()),
            "Some technical error has occurred !!",
        )
    }

    fn into_response(self) -> Response {
        let body = json!({
            "success": false,
            "message": self.failure,
            "data": null,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(allow) = self.allow
            && let Ok(value) = HeaderValue::from_str(allow.as_str())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn success(status: StatusCode, message: &str, data: Value) -> Response {
    (status, axum::Json(json!({"success": true, "message": message, "data": data}))).into_response()
}

/// Every `/api/v0/…` request.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let mut response = match Operation::parse(request.uri().path()) {
        Some(op) => match handle(&state, &op, request).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        },
        None => V0Error {
            status: StatusCode::NOT_FOUND,
            failure: "Failed to process the request",
            code: "REQUEST_PATH_NOT_FOUND".into(),
            message: "No v0 API endpoint has this path".into(),
            details: None,
            allow: None,
            retry_after: None,
        }
        .into_response(),
    };
    deprecation_headers(response.headers_mut(), &state.public_url);
    response
}

/// `Deprecation`, `Sunset`, and `Link` to the v2 documentation.
pub fn deprecation_headers(headers: &mut HeaderMap, public_url: &str) {
    headers.insert("deprecation", HeaderValue::from_str(&format!("@{DEPRECATED_AT}")).expect("ascii"));
    headers.insert("sunset", HeaderValue::from_static(SUNSET));
    let link = format!(
        "<{public_url}/docs>; rel=\"deprecation\"; type=\"text/html\", \
         <{public_url}/api/v2/openapi.json>; rel=\"successor-version\""
    );
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert(header::LINK, value);
    }
}

async fn handle(state: &AppState, op: &Operation, request: Request) -> Result<Response, V0Error> {
    if request.method() != op.method() {
        return Err(V0Error {
            allow: Some(op.method()),
            ..V0Error::new(
                op,
                StatusCode::METHOD_NOT_ALLOWED,
                "REQUEST_METHOD_NOT_ALLOWED",
                format!("{} request method is not allowed", request.method()),
            )
        });
    }
    let peer = crate::web::client_addr(request.extensions());
    let caller = authenticate(state, op, request.headers(), &peer).await?;
    let (parts, body) = request.into_parts();
    let mut problems = check_ids(op);
    // Generating a key takes no body; whatever is sent is ignored.
    let input = match op {
        Operation::CreateUser { .. } => {
            let body = read_body(op, &parts.headers, body, &mut problems).await?;
            Input::User(check_new_user(&body, &mut problems))
        }
        Operation::UpdateQuota { .. } => {
            let body = read_body(op, &parts.headers, body, &mut problems).await?;
            Input::Quota(check_quota(&body, &mut problems))
        }
        Operation::GenerateKey { .. } => Input::None,
    };
    if !problems.is_empty() {
        return Err(V0Error::invalid(op, problems));
    }
    let brand = customer_brand(state, op, &caller).await?;
    let now = Utc::now();
    match (op, input) {
        (Operation::CreateUser { .. }, Input::User(Some(new))) => create_user(state, op, &brand, new, now).await,
        (Operation::GenerateKey { .. }, _) => {
            let user = brand_user(state, op, &brand).await?;
            generate_key(state, op, &user, now).await
        }
        (Operation::UpdateQuota { .. }, Input::Quota(Some(quota))) => {
            let user = brand_user(state, op, &brand).await?;
            update_quota(state, op, &user, quota, now).await
        }
        _ => Err(V0Error::failed(op, &"input checked but missing")),
    }
}

/// The validated body of an operation.
enum Input {
    None,
    User(Option<NewBrandUser>),
    Quota(Option<Option<i64>>),
}

struct NewBrandUser {
    email: String,
    name: Option<String>,
    message_quota: Option<i64>,
}

/// The owner of the presented v0 key. Lookups that find nothing count
/// against the address's budget for unknown credentials (shared with v2);
/// beyond it, 429 until the minute is over.
async fn authenticate(
    state: &AppState,
    op: &Operation,
    headers: &HeaderMap,
    peer: &str,
) -> Result<V0KeyOwner, V0Error> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_ascii_lowercase())
        .filter(|key| v0_key::is_shaped(key));
    let Some(key) = presented else { return Err(V0Error::unauthenticated(op)) };
    if let Some(wait) = state.verifier.unknown_lookups_blocked(peer) {
        let seconds = wait.as_secs().max(1);
        return Err(V0Error {
            retry_after: Some(seconds),
            ..V0Error::new(
                op,
                StatusCode::TOO_MANY_REQUESTS,
                "REQUEST_RATE_LIMITED",
                format!("Too many requests with unknown API keys from this address. Retry in {seconds} s."),
            )
        });
    }
    match state.store.v0_key(v0_key::hash(&key)).await {
        Ok(Some(found)) => Ok(found.owner),
        Ok(None) => {
            state.verifier.count_unknown_lookup(peer);
            Err(V0Error::unauthenticated(op))
        }
        Err(e) => Err(V0Error::failed(op, &e)),
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= ID_MAX_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_ids(op: &Operation) -> Vec<Detail> {
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
async fn read_body(
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

fn unknown_keys(body: &Map<String, Value>, known: &[&str], problems: &mut Vec<Detail>) {
    for key in body.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(detail(&[key.as_str()], "Unrecognized key"));
    }
}

/// `messageQuota`: a whole number ≥ 0, or `null` for unlimited.
fn quota_value(value: Option<&Value>, problems: &mut Vec<Detail>) -> Option<Option<i64>> {
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

fn check_new_user(body: &Map<String, Value>, problems: &mut Vec<Detail>) -> Option<NewBrandUser> {
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

fn check_quota(body: &Map<String, Value>, problems: &mut Vec<Detail>) -> Option<Option<i64>> {
    unknown_keys(body, &["messageQuota"], problems);
    quota_value(body.get("messageQuota"), problems)
}

/// The brand, when the caller is an owner or admin of the whitelabel
/// account that owns it; 403 otherwise (also for a brand that does not
/// exist, so brands of others cannot be discovered).
async fn customer_brand(state: &AppState, op: &Operation, owner: &V0KeyOwner) -> Result<Brand, V0Error> {
    let V0KeyOwner::User(user_id) = owner else { return Err(V0Error::forbidden(op)) };
    let brand = state.store.brand(op.brand_id()).await.map_err(|e| V0Error::failed(op, &e))?;
    let Some(brand) = brand else { return Err(V0Error::forbidden(op)) };
    let memberships = state.store.memberships(user_id).await.map_err(|e| V0Error::failed(op, &e))?;
    let manages = memberships
        .iter()
        .any(|(account, role)| account.id == brand.account_id && matches!(role, Role::Owner | Role::Admin));
    if !manages {
        return Err(V0Error::forbidden(op));
    }
    let whitelabel = state.store.is_whitelabel(&brand.account_id).await.map_err(|e| V0Error::failed(op, &e))?;
    if whitelabel { Ok(brand) } else { Err(V0Error::forbidden(op)) }
}

async fn brand_user(state: &AppState, op: &Operation, brand: &Brand) -> Result<BrandUser, V0Error> {
    let user_id = op.user_id().unwrap_or_default();
    match state.store.brand_user(&brand.id, user_id).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(V0Error::user_not_found(op)),
        Err(e) => Err(V0Error::failed(op, &e)),
    }
}

/// A new decimal id, like the v0 documentation's.
pub fn new_numeric_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // 18 digits: at least 10^17, below 10^18.
    (100_000_000_000_000_000 + u64::from_le_bytes(bytes) % 900_000_000_000_000_000).to_string()
}

fn user_data(user: &BrandUser) -> Value {
    json!({
        "userId": user.id,
        "userEmail": user.email,
        "name": user.name,
        "messageQuota": user.message_quota,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    })
}

async fn create_user(
    state: &AppState,
    op: &Operation,
    brand: &Brand,
    new: NewBrandUser,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let user = BrandUser {
        id: new_numeric_id(),
        brand_id: brand.id.clone(),
        email: new.email,
        name: new.name,
        message_quota: new.message_quota,
        created_at: now,
        updated_at: now,
    };
    match state.store.create_brand_user(user.clone()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(V0Error::new(
                op,
                StatusCode::CONFLICT,
                "CREATE_WHITELABEL_USER_ALREADY_EXISTS",
                "The brand already has a user with this email",
            ));
        }
        Err(e) => return Err(V0Error::failed(op, &e)),
    }
    tracing::info!(brand_id = %brand.id, brand_user_id = %user.id, "whitelabel user created");
    Ok(success(StatusCode::CREATED, "Created whitelabel user successfully", user_data(&user)))
}

async fn generate_key(
    state: &AppState,
    op: &Operation,
    user: &BrandUser,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let (key, hint) = v0_key::generate();
    state
        .store
        .replace_v0_key(V0KeyOwner::BrandUser(user.id.clone()), v0_key::hash(&key), hint, now)
        .await
        .map_err(|e| V0Error::failed(op, &e))?;
    tracing::info!(brand_id = %user.brand_id, brand_user_id = %user.id, "whitelabel user API key generated");
    let data = json!({"userId": user.id, "userEmail": user.email, "apiKey": key});
    // The key exists in plaintext only in this answer: never cached.
    Ok(crate::routes::oauth::no_store(success(
        StatusCode::OK,
        "Generated API key of the whitelabel user successfully",
        data,
    )))
}

async fn update_quota(
    state: &AppState,
    op: &Operation,
    user: &BrandUser,
    quota: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Response, V0Error> {
    let updated = state
        .store
        .set_brand_user_quota(&user.brand_id, &user.id, quota, now)
        .await
        .map_err(|e| V0Error::failed(op, &e))?
        .ok_or_else(|| V0Error::user_not_found(op))?;
    tracing::info!(brand_id = %user.brand_id, brand_user_id = %user.id, "whitelabel user quota updated");
    Ok(success(StatusCode::OK, "Updated quota of the whitelabel user successfully", user_data(&updated)))
}

/// The v0 operations for the OpenAPI document: deprecated, with their own
/// key scheme (`v0ApiKey`) and envelopes (`V0Error`, defined by
/// [`openapi_schemas`]).
pub fn openapi_paths() -> Vec<(&'static str, &'static str, Value)> {
    let brand = json!({"name": "brandId", "in": "path", "required": true, "description": "Id of the whitelabel brand",
        "schema": {"type": "string"}});
    let user = json!({"name": "userId", "in": "path", "required": true, "description": "Id of the whitelabel user",
        "schema": {"type": "string"}});
    let headers = json!({
        "Deprecation": {"required": true, "description": "RFC 9745: when v0 was deprecated", "schema": {"type": "string"}},
        "Sunset": {"required": true, "description": "RFC 8594: when v0 stops being served", "schema": {"type": "string"}},
        "Link": {"required": true, "description": "The v2 documentation (rel=\"deprecation\") and its OpenAPI document",
            "schema": {"type": "string"}},
    });
    let error = |description: &str| {
        json!({"description": description, "headers": headers,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V0Error"}}}})
    };
    let ok = |description: &str, data: Value| {
        json!({"description": description, "headers": headers, "content": {"application/json": {"schema": {
            "type": "object", "required": ["success", "message", "data"],
            "properties": {"success": {"const": true}, "message": {"type": "string"}, "data": data}}}}})
    };
    let user_data = json!({"type": "object", "required": ["userId", "userEmail", "messageQuota", "createdAt", "updatedAt"],
        "properties": {"userId": {"type": "string"}, "userEmail": {"type": "string"}, "name": {"type": ["string", "null"]},
            "messageQuota": {"type": ["integer", "null"], "minimum": 0, "description": "Messages a month; null is unlimited"},
            "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"}}});
    let common = |op: &str, extra: &[(&str, Value)]| {
        let mut responses = Map::new();
        responses.insert(
            "401".into(),
            error("API_KEY_NOT_VALID: the Authorization header does not hold a valid v0 API key"),
        );
        responses.insert("403".into(), error(&format!("{op}_FORBIDDEN: not a whitelabel customer, or not your brand")));
        responses.insert("405".into(), error("REQUEST_METHOD_NOT_ALLOWED (with Allow)"));
        responses.insert("400".into(), error("REQUEST_VALIDATION_FAILED, with details [{path, message}]"));
        responses.insert("413".into(), error("REQUEST_BODY_TOO_LARGE: bodies are limited to 16 KiB"));
        responses.insert("500".into(), error(&format!("{op}_FAILED: a technical error; nothing internal is shown")));
        responses.insert(
            "429".into(),
            error("REQUEST_RATE_LIMITED: too many unknown API keys from this address (with Retry-After)"),
        );
        for (status, response) in extra {
            responses.insert((*status).into(), response.clone());
        }
        Value::Object(responses)
    };
    let description = "Deprecated: use API v2. Pre-requisites: you are a whitelabel customer (an owner or admin of a \
        whitelabel account) and the brand is yours. Send `Authorization: Bearer <v0 API key>`.";
    vec![
        (
            "/api/v0/w/brands/{brandId}/users",
            "post",
            json!({
                "operationId": "create-whitelabel-user", "tags": ["Whitelabel"], "deprecated": true,
                "summary": "Create Whitelabel User", "description": description,
                "security": [{"v0ApiKey": []}], "parameters": [brand],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email"], "additionalProperties": false,
                    "properties": {"email": {"type": "string", "format": "email"},
                        "name": {"type": ["string", "null"], "minLength": 1, "maxLength": NAME_MAX},
                        "messageQuota": {"type": ["integer", "null"], "minimum": 0}}}}}},
                "responses": common("CREATE_WHITELABEL_USER", &[
                    ("201", ok("Created", user_data.clone())),
                    ("409", error("CREATE_WHITELABEL_USER_ALREADY_EXISTS: the brand has a user with this email")),
                ]),
            }),
        ),
        (
            "/api/v0/w/brands/{brandId}/users/{userId}/api-key",
            "patch",
            json!({
                "operationId": "generate-api-key-for-whitelabel-user", "tags": ["Whitelabel"], "deprecated": true,
                "summary": "Generate API key for Whitelabel User",
                "description": format!("{description} The user's previous key stops working."),
                "security": [{"v0ApiKey": []}], "parameters": [brand, user],
                "responses": common("GENERATE_API_KEY", &[
                    ("200", ok("OK", json!({"type": "object", "required": ["userId", "userEmail", "apiKey"],
                        "properties": {"userId": {"type": "string"}, "userEmail": {"type": "string"},
                            "apiKey": {"type": "string", "format": "uuid"}}}))),
                    ("404", error("GENERATE_API_KEY_USER_NOT_FOUND: the brand has no such user")),
                ]),
            }),
        ),
        (
            "/api/v0/w/brands/{brandId}/users/{userId}/quota",
            "patch",
            json!({
                "operationId": "update-whitelabel-user-quota", "tags": ["Whitelabel"], "deprecated": true,
                "summary": "Update Whitelabel User Quota", "description": description,
                "security": [{"v0ApiKey": []}], "parameters": [brand, user],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["messageQuota"], "additionalProperties": false,
                    "properties": {"messageQuota": {"type": ["integer", "null"], "minimum": 0}}}}}},
                "responses": common("UPDATE_WHITELABEL_USER_QUOTA", &[
                    ("200", ok("OK", user_data)),
                    ("404", error("UPDATE_WHITELABEL_USER_QUOTA_USER_NOT_FOUND: the brand has no such user")),
                ]),
            }),
        ),
    ]
}

/// The v0 error envelope's schema.
pub fn openapi_error_schema() -> Value {
    json!({
        "type": "object",
        "description": "A v0 error: `data` is null and `error.code` says what went wrong.",
        "required": ["success", "message", "data", "error"],
        "properties": {
            "success": {"const": false},
            "message": {"type": "string"},
            "data": {"type": "null"},
            "error": {"type": "object", "required": ["code", "message", "details"], "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": ["array", "null"], "items": {"type": "object", "required": ["path", "message"],
                    "properties": {"path": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "message": {"type": "string"}}}},
            }},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_operations() {
        assert_eq!(
            Operation::parse("/api/v0/w/brands/1/users/2/api-key"),
            Some(Operation::GenerateKey { brand_id: "1".into(), user_id: "2".into() })
        );
        assert_eq!(
            Operation::parse("/api/v0/w/brands//users//api-key"),
            Some(Operation::GenerateKey { brand_id: String::new(), user_id: String::new() })
        );
        assert_eq!(Operation::parse("/api/v0/w/brands/1/users"), Some(Operation::CreateUser { brand_id: "1".into() }));
        assert_eq!(
            Operation::parse("/api/v0/w/brands/1/users/2/quota"),
            Some(Operation::UpdateQuota { brand_id: "1".into(), user_id: "2".into() })
        );
        for other in
            ["/api/v0", "/api/v0/w/brands/1", "/api/v0/w/brands/1/users/2", "/api/v0/w/brands/1/users/2/api-key/x"]
        {
            assert_eq!(Operation::parse(other), None, "{other}");
        }
    }

    #[test]
    fn numeric_ids_have_18_digits() {
        for _ in 0..100 {
            let id = new_numeric_id();
            assert_eq!(id.len(), 18, "{id}");
            assert!(is_id(&id));
        }
        assert!(!is_id("12a"));
        assert!(!is_id(&"1".repeat(21)));
    }
}
