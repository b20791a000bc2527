//! The API reference (`/docs`), generated from the route table like the
//! OpenAPI document: every API v2 operation grouped by resource, with its
//! scope, parameters, body, a curl example and the errors it can give; then
//! the OAuth and discovery endpoints, the MCP server and the deprecated v0
//! API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use sitegpt_access::Subscription;

use super::layout::page;
use super::{MaybeSession, html};
use crate::api::{ApiRoute, api_routes};
use crate::openapi::{error_answers, operation_id, tag};
use crate::state::AppState;

/// The OAuth and discovery endpoints, which take forms rather than tokens.
const OAUTH: [(&str, &str, &str); 11] = [
    ("GET", "/.well-known/oauth-authorization-server", "RFC 8414 metadata: every endpoint below, scopes, grant types."),
    ("GET", "/.well-known/oauth-protected-resource/api/v2", "RFC 9728 metadata of API v2."),
    ("GET", "/.well-known/oauth-protected-resource/mcp", "RFC 9728 metadata of the MCP server."),
    ("POST", "/oauth/device_authorization", "RFC 8628: start a device login (`client_id=sitegpt-cli`, `scope`)."),
    ("GET", "/oauth/authorize", "Authorization code with PKCE (S256): the consent page."),
    ("POST", "/oauth/token", "Device code, authorization code and refresh token grants."),
    ("POST", "/oauth/register", "RFC 7591 dynamic client registration (public clients)."),
    ("POST", "/oauth/revoke", "RFC 7009: revoke an access or refresh token."),
    ("POST", "/oauth/introspect", "RFC 7662: inspect a token (registered clients, or a `tokens:read` token)."),
    ("GET", "/healthz", "Liveness and the storage engine; no token."),
    ("GET", "/api/v2/openapi.json", "This reference as an OpenAPI 3.1 document; no token."),
];

const V0_ROUTES: [(&str, &str); 3] = [
    ("POST", "/api/v0/w/brands/{brandId}/users"),
    ("PATCH", "/api/v0/w/brands/{brandId}/users/{userId}/api-key"),
    ("PATCH", "/api/v0/w/brands/{brandId}/users/{userId}/quota"),
];

/// Text with `backticked` parts as code.
fn with_code(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// What a path parameter holds.
fn path_parameter(name: &str) -> &'static str {
    match name {
        "id" => "The token's id (`tok_…`).",
        "chatbotId" => "The chatbot's id (`cb_…`).",
        "conversationId" => "The conversation's id.",
        "userId" => "The member's user id (`usr_…`).",
        "integrationId" => "The integration's id.",
        "itemId" => "The record's id, from the list.",
        _ => "An id from the list.",
    }
}

/// A shell command that calls the operation, with its example body.
fn curl(base: &str, route: &ApiRoute) -> String {
    let method = route.method.as_str();
    let mut command = String::from("curl");
    if method != "GET" {
        command.push_str(&format!(" -X {method}"));
    }
    command.push_str(&format!(" \"{base}{}\" \\\n  -H \"Authorization: Bearer $SITEGPT_TOKEN\"", route.path));
    if route.body.is_some() {
        let body = route.example.unwrap_or("{}");
        command.push_str(&format!(" \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"));
    }
    command
}

fn operation(base: &str, route: &ApiRoute) -> Markup {
    let id = operation_id(route);
    let path_params: Vec<&str> =
        route.path.split('/').filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}'))).collect();
    let body = route.example.and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok());
    html! {
        article.op id=(id) {
            h3 {
                span.method.{ "m-" (route.method.as_str().to_lowercase()) } { (route.method.as_str()) }
                code.path { (route.path) }
            }
            p { (route.summary) ". " span.muted { "Operation " code { (id) } "." } }
            dl.facts.op-facts {
                dt { "Scope" } dd { code { (route.rule.scope.as_str()) } }
                dt { "Subscription" } dd {
                    @if route.rule.subscription == Subscription::Required { "An active subscription is required." }
                    @else { "Not required." }
                }
                dt { "Success" } dd { (route.status) }
            }
            @if !path_params.is_empty() || !route.query.is_empty() {
                h4 { "Parameters" }
                ul.params {
                    @for name in &path_params { li { code { (name) } " (path) — " (with_code(path_parameter(name))) } }
                    @for q in route.query { li { code { (q.name) } " (query, " (q.kind) ") — " (with_code(q.description)) } }
                }
            }
            @if let Some(body) = &body {
                h4 { "Body" }
                pre.code { code { (serde_json::to_string_pretty(body).unwrap_or_default()) } }
            }
            h4 { "Example" }
            pre.code { code { (curl(base, route)) } }
            details.errors {
                summary { "Errors it can give" }
                ul.params {
                    @for (status, what) in error_answers(route) { li { strong { (status) } " " (what) } }
                }
            }
        }
    }
}

pub async fn docs(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Response {
    let base = &*state.public_url;
    let viewer = session.as_ref().map(super::SignedIn::viewer);
    let mut groups: Vec<(&'static str, Vec<&ApiRoute>)> = Vec::new();
    for route in api_routes() {
        match groups.iter_mut().find(|(name, _)| *name == tag(route)) {
            Some((_, routes)) => routes.push(route),
            None => groups.push((tag(route), vec![route])),
        }
    }
    let anchor = |name: &str| name.to_lowercase().replace(' ', "-");
    let body = html! {
        section.card.wide.docs {
            h1 { "API reference" }
            p.lead { "Send " code { "Authorization: Bearer sgpt_…" } " to " code { (base) "/api/v2" } ". Answers are "
                code { "{\"ok\", \"data\", \"meta\"}" } " envelopes; errors carry a stable " code { "error.code" }
                " and " code { "meta.requestId" } ". Checks run in a fixed order: 401 token, 403 e-mail, 403 scope, "
                "404 resource, 402 subscription, 403 role, 400 input. The same operations are in the "
                a href="/api/v2/openapi.json" { "OpenAPI document" } " and, for AI clients, the " a href="#mcp" { "MCP server" } "." }
            nav.toc aria-label="Resources" {
                @for (name, routes) in &groups {
                    a href={ "#" (anchor(name)) } { (name) " " span.muted { "(" (routes.len()) ")" } }
                }
                a href="#oauth" { "OAuth and discovery" }
                a href="#v0" { "API v0 (deprecated)" }
            }
            @for (name, routes) in &groups {
                section.group id=(anchor(name)) {
                    h2 { (name) }
                    @for route in routes { (operation(base, route)) }
                }
            }
            section.group #oauth {
                h2 { "OAuth and discovery" }
                p { "These take forms (" code { "application/x-www-form-urlencoded" } ") and answer as RFC 6749 does, "
                    "not in envelopes." }
                ul.params {
                    @for (method, path, what) in OAUTH {
                        li { span.method.{ "m-" (method.to_lowercase()) } { (method) } " " code { (path) } " — " (with_code(what)) }
                    }
                }
            }
            section.group #mcp {
                h2 { "MCP server" }
                p { "AI clients reach the same operations as tools at " code { (base) "/mcp" } " (Streamable HTTP). "
                    "They sign in by OAuth through discovery, or send a token as " code { "Authorization: Bearer sgpt_…" } ". "
                    "Tools are named for their resource and action (" code { "chatbots_list" } ", " code { "knowledge_create" }
                    "); a call needing a scope the token lacks answers 403 " code { "insufficient_scope" }
                    " so the client can ask for it, and other refusals come back as tool errors with the API's code." }
            }
            section.group #v0 {
                h2 { "Deprecated: API v0 (whitelabel)" }
                p { "API v0 is served for existing whitelabel integrations until " strong { "30 June 2027" }
                    ". It uses v0 API keys (" code { "Authorization: Bearer <uuid>" } ") and answers "
                    code { "{\"success\", \"message\", \"data\"}" } ". Move to API v2 and scoped tokens." }
                ul.params {
                    @for (method, path) in V0_ROUTES {
                        li { span.method.{ "m-" (method.to_lowercase()) } { (method) } " " code { (path) } }
                    }
                }
            }
        }
    };
    html(StatusCode::OK, page("API reference", viewer, body))
}
