//! The OpenAPI 3.1 document of API v1, generated from the route table
//! ([`ROUTES`]) and the JSON Schemas of the answers: each operation with
//! its scope, team permission, success and the errors of the decision
//! order. Served at `GET /api/v1/openapi.json`.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::input::{MAX_CADENCE_SECONDS, MAX_NAME_CHARS, MAX_URL_BYTES};
use super::routes::{Answers, ApiRoute, ROUTES};
use super::views::{CheckView, IssueView, SiteView, TeamView};

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The errors a route can answer with, in the decision's order.
pub fn errors(route: &ApiRoute) -> Vec<(&'static str, &'static str)> {
    let mut errors = vec![
        (
            "401",
            "Unauthenticated: no token, an unknown, expired or revoked one, or an owner whose e-mail is not verified",
        ),
        ("403", "The token lacks the route's scope, or the member's team permissions do not allow the action"),
    ];
    if route.path.contains('{') {
        errors.push(("404", "Not found: no such record in a team you belong to"));
        errors.push(("402", "An active team subscription is required."));
    }
    if route.body.is_some() {
        errors.push(("400", "The body is not a JSON object"));
        errors.push(("422", "Invalid fields: `errors` lists each field's messages"));
    }
    if route.status == 201 || route.status == 202 || route.method == "DELETE" && route.path.contains("checks") {
        errors.push(("409", "The record's state forbids it (a plan's site limit, a check already waiting, a scheduled or running check)"));
    }
    errors
}

/// The JSON Schemas of the request bodies (and the error body), by name.
pub fn request_bodies() -> Map<String, Value> {
    let name = json!({"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS});
    let url = json!({"type": "string", "format": "uri", "maxLength": MAX_URL_BYTES,
        "description": "An absolute http or https URL, without credentials."});
    let cadence = json!({"type": ["integer", "null"], "minimum": 1, "maximum": MAX_CADENCE_SECONDS,
        "description": "Seconds between checks, at least the plan's min_cadence_seconds; null for the team's."});
    let mut bodies = Map::new();
    bodies.insert(
        "SiteCreate".into(),
        json!({
            "type": "object", "required": ["name", "url"],
            "properties": {"name": name, "url": url, "cadence_seconds": cadence},
        }),
    );
    bodies.insert(
        "SiteUpdate".into(),
        json!({
            "type": "object",
            "properties": {"name": name, "url": url, "cadence_seconds": cadence, "paused": {"type": "boolean"}},
        }),
    );
    bodies.insert(
        "TeamUpdate".into(),
        json!({
            "type": "object",
            "properties": {
                "cadence_seconds": {"type": "integer", "minimum": 1, "maximum": MAX_CADENCE_SECONDS,
                    "description": "At least the plan's min_cadence_seconds."},
                "failure_threshold": {"type": "integer", "minimum": 1, "maximum": 20,
                    "description": "Consecutive failed checks that open an issue."},
                "escalation_minutes": {"type": ["integer", "null"], "minimum": 5, "maximum": 1440},
            },
        }),
    );
    bodies.insert(
        "Error".into(),
        json!({
            "type": "object", "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }),
    );
    bodies
}

/// The whole document.
pub fn document() -> Value {
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "#/components/schemas/".into()).into_generator();
    // Each answer's schema, kept under components (the references are built from the names).
    generator.subschema_for::<TeamView>();
    generator.subschema_for::<SiteView>();
    generator.subschema_for::<CheckView>();
    generator.subschema_for::<IssueView>();
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        let success = match route.answers {
            Answers::One(schema) => Some(json!({"$ref": format!("#/components/schemas/{schema}")})),
            Answers::List(schema) => {
                Some(json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}}))
            }
            Answers::Nothing => None,
        };
        responses.insert(
            route.status.to_string(),
            match success {
                Some(data) => json!({"description": "Success", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["data"], "properties": {"data": data},
                }}}}),
                None => json!({"description": "Done; no body"}),
            },
        );
        for (status, description) in errors(route) {
            responses.insert(status.into(), error(description));
        }
        let scope = route.rule.scope.as_str();
        let description = match route.rule.permission {
            Some(permission) => {
                format!("Requires the `{scope}` scope and the `{}` team permission.", permission.as_str())
            }
            None => format!("Requires the `{scope}` scope."),
        };
        let mut operation = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "description": description,
            "tags": [scope.split(':').next().unwrap_or(scope)],
            "security": [{"bearer": [scope]}],
            "x-required-scope": scope,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(permission) = route.rule.permission {
            operation["x-team-permission"] = json!(permission.as_str());
        }
        if let Some(body) = route.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{body}")},
            }}});
        }
        paths.entry(route.path.to_owned()).or_insert_with(|| json!({}))[route.method.to_lowercase()] = operation;
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.extend(request_bodies());
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "SitePulse API v1",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Personal access tokens (`Authorization: Bearer spat_…`, with `Accept: application/json`). \
                Checks run in order: 401 (token, verified e-mail), 403 (scope), 404 (team membership), \
                402 (active plan), 403 (team permission), then the body (400, 422).",
        },
        "tags": [{"name": "teams"}, {"name": "sites"}, {"name": "checks"}, {"name": "issues"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A SitePulse personal access token."}},
            "schemas": schemas,
        },
        "paths": paths,
    })
}
