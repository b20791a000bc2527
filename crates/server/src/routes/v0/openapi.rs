//! v0's part of the OpenAPI document.

use serde_json::{Map, Value, json};

use crate::issue::NAME_MAX;

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
