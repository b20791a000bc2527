//! The OpenAPI 3.1 document of API v2, generated from the route table
//! ([`api_routes`]) and the JSON Schemas of the wire types, with the
//! deprecated v0 operations beside it. Served at `GET /api/v2/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use sitegpt_access::Subscription;

use crate::api::{ApiRoute, api_routes};
use crate::state::AppState;

pub async fn serve(State(state): State<AppState>) -> Response {
    Json(document(&state.public_url)).into_response()
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Failure"}}}
    })
}

/// The error answers a route can give, by the decision table.
fn errors(route: &ApiRoute) -> Vec<(&'static str, &'static str)> {
    let mut errors = vec![
        ("401", "UNAUTHENTICATED, TOKEN_EXPIRED or TOKEN_REVOKED (with WWW-Authenticate)"),
        ("403", "IP_NOT_ALLOWED (the token's allowedIps), EMAIL_NOT_VERIFIED, INSUFFICIENT_SCOPE or FORBIDDEN"),
        ("429", "RATE_LIMITED: too many unknown tokens from this address (with Retry-After)"),
    ];
    if route.path.contains('{') {
        errors.push(("404", "NOT_FOUND: no such resource in the token's account and chatbot restriction"));
    }
    if route.rule.subscription == Subscription::Required {
        errors.push(("402", "SUBSCRIPTION_REQUIRED"));
    }
    if route.body.is_some() || !route.query.is_empty() {
        errors.push(("400", "VALIDATION_FAILED, with details [{path, message}]"));
    }
    if route.body.is_some() {
        errors.push(("413", "PAYLOAD_TOO_LARGE: bodies are limited to 64 KiB"));
        errors.push(("415", "UNSUPPORTED_MEDIA_TYPE: send application/json"));
    }
    if let Some(conflict) = route.conflict {
        errors.push(("409", conflict));
    }
    errors
}

/// `listChatbots`, `createKnowledge`, `rotateToken`, …: the action and the
/// resource, readable in generated clients.
pub fn operation_id(route: &ApiRoute) -> String {
    let segments: Vec<&str> = route.path.trim_start_matches("/api/v2/").split('/').collect();
    let is_param = |s: &&str| s.starts_with('{');
    let on_item = segments.last().is_some_and(is_param);
    let literals: Vec<&str> = segments.iter().copied().filter(|s| !is_param(s)).collect();
    let last = literals.last().copied().unwrap_or_default();
    let method = route.method.as_str();
    // `POST …/{id}/rotate`, `POST …/conversations/{id}/messages`: an action on the parent.
    if method == "POST" && matches!(last, "rotate" | "revoke" | "messages") && literals.len() >= 2 {
        let parent = singular(literals[literals.len() - 2]);
        return match last {
            "messages" => format!("replyTo{parent}"),
            action => format!("{action}{parent}"),
        };
    }
    let one_of_a_kind = matches!(last, "account" | "billing" | "settings");
    let verb = match (method, on_item || one_of_a_kind) {
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) if last == "members" => "invite",
        ("POST", _) => "create",
        ("PATCH" | "PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => "call",
    };
    let noun = if verb == "list" || one_of_a_kind { capitalized(last) } else { singular(last) };
    format!("{verb}{noun}")
}

/// `chatbots` → `Chatbots`; `audit-events` → `AuditEvents`.
fn capitalized(word: &str) -> String {
    word.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// `chatbots` → `Chatbot`; `knowledge` stays.
fn singular(collection: &str) -> String {
    capitalized(collection.strip_suffix('s').unwrap_or(collection))
}

/// The group an operation is listed under: its scope's resource.
pub fn tag(route: &ApiRoute) -> &'static str {
    route.rule.scope.resource().label()
}

/// The error answers a route can give, for the reference page.
pub fn error_answers(route: &ApiRoute) -> Vec<(&'static str, &'static str)> {
    errors(route)
}

/// The whole document.
pub fn document(public_url: &str) -> Value {
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "#/components/schemas/".into()).into_generator();
    generator.subschema_for::<sitegpt_api_types::Failure>();
    let meta = generator.subschema_for::<sitegpt_api_types::Meta>();
    let mut paths: Map<String, Value> = Map::new();
    for route in api_routes() {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(route.query.iter().map(|q| {
            json!({"name": q.name, "in": "query", "required": false, "description": q.description, "schema": {"type": q.kind}})
        }));
        let data = (route.data)(&mut generator);
        let success = json!({
            "description": "Success",
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["ok", "data", "meta"],
                "properties": {"ok": {"const": true}, "data": data, "meta": meta},
            }}}
        });
        let mut responses = Map::new();
        responses.insert(route.status.to_string(), success);
        for (status, description) in errors(route) {
            responses.insert(status.into(), error_response(description));
        }
        responses.insert("429".into(), error_response("RATE_LIMITED (with Retry-After)"));
        let scope = route.rule.scope.as_str();
        let mut operation = json!({
            "operationId": operation_id(route),
            "tags": [tag(route)],
            "summary": route.summary,
            "description": format!("Requires the `{scope}` scope."),
            "security": [{"bearer": [scope]}],
            "x-required-scope": scope,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = route.body {
            let mut content = json!({"schema": body(&mut generator)});
            if let Some(example) = route.example.and_then(|e| serde_json::from_str::<Value>(e).ok()) {
                content["example"] = example;
            }
            operation["requestBody"] = json!({"required": true, "content": {"application/json": content}});
        }
        let item = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        item[route.method.as_str().to_lowercase()] = operation;
    }
    for (path, method, operation) in crate::routes::v0::openapi_paths() {
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[method] = operation;
    }
    let mut tags: Vec<Value> = Vec::new();
    for route in api_routes() {
        let name = tag(route);
        if !tags.iter().any(|t| t["name"] == name) {
            let resource = route.rule.scope.resource();
            tags.push(json!({"name": name, "description": format!("Scopes `{}:…`.", resource.key())}));
        }
    }
    tags.push(json!({"name": "Whitelabel", "description": "Deprecated API v0 for whitelabel brands; served until 30 June 2027."}));
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert("V0Error".into(), crate::routes::v0::openapi_error_schema());
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "SiteGPT API v2",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Scoped bearer tokens (`Authorization: Bearer sgpt_…`). Every response is an envelope with \
                `meta.requestId`. Authorization runs in a fixed order: 401, 403 e-mail, 403 scope, 404, 402, 403 role, 400.",
        },
        "servers": [{"url": public_url}],
        "tags": tags,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A SiteGPT API token."},
                "v0ApiKey": {"type": "http", "scheme": "bearer",
                    "description": "A v0 API key (UUID-shaped), for the deprecated v0 API only."},
            },
            "schemas": schemas,
        },
        "paths": paths,
    })
}
