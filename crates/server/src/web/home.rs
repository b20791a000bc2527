//! The start page and the API documentation page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::page;
use super::{MaybeSession, WebError, html};
use crate::state::AppState;

pub async fn home(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, WebError> {
    let Some(signed_in) = session else {
        let body = html! {
            section.card {
                h1 { "SiteGPT" }
                p.lead { "Scoped API access for your team, your scripts and your AI agents." }
                div.actions {
                    a.button.primary href="/signup" { "Create account" }
                    a.button.secondary href="/login" { "Sign in" }
                }
            }
        };
        return Ok(html(StatusCode::OK, page("Welcome", None, body)));
    };
    let user = &signed_in.session.user;
    let memberships = state.store.memberships(&user.id).await?;
    let invitations = state.store.invitations_to(&user.email, chrono::Utc::now()).await?.len();
    let body = html! {
        section.card.wide {
            h1 { "Your account" }
            @if user.email_verified_at.is_none() {
                div.alert role="status" {
                    "Verify your e-mail address: we sent a link to " (user.email) ". API tokens work once it is verified."
                    form.resend method="post" action="/verify-email/resend" {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        button.link type="submit" { "Send a new link" }
                    }
                }
            }
            @if invitations > 0 {
                div.notice role="status" {
                    @if invitations == 1 { "A team has invited you. " } @else { (invitations) " teams have invited you. " }
                    a href="/invitations" { "Review invitations" }
                }
            }
            dl.facts {
                dt { "Email" } dd { (user.email) @if user.email_verified_at.is_some() { " · verified" } }
                @for (account, role) in &memberships {
                    dt { "Team" } dd { (account.name) " · " (role.as_str()) " · subscription " (account.subscription.as_str()) }
                }
            }
            h2 { "Connect a tool or agent" }
            p { "Create, rotate and revoke API tokens on the " a href="/dashboard/agents" { "Agents page" } ", and see who is in your team on the "
                a href="/dashboard/members" { "Members page" } "." }
            p { "Run " code { "sitegpt login" } " in a terminal, then enter the code it shows on the "
                a href="/device" { "device approval page" } "." }
            p { "Connect Claude Code, VS Code, Cursor or any MCP client from the "
                a href="/dashboard/mcp" { "AI clients page" } "." }
        }
    };
    Ok(html(StatusCode::OK, page("Your account", Some(signed_in.viewer()), body)))
}

const V0_ROUTES: [(&str, &str); 3] = [
    ("POST", "/api/v0/w/brands/{brandId}/users"),
    ("PATCH", "/api/v0/w/brands/{brandId}/users/{userId}/api-key"),
    ("PATCH", "/api/v0/w/brands/{brandId}/users/{userId}/quota"),
];

pub async fn docs(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Response {
    let base = &*state.public_url;
    let viewer = session.as_ref().map(super::SignedIn::viewer);
    let rows: &[(&str, &str, &str)] = &[
        ("GET", "/api/v2/account", "account:read — who is calling, with which token"),
        ("GET", "/api/v2/tokens", "tokens:read — your tokens (?includeRevoked=true, ?owner=all)"),
        ("POST", "/api/v2/tokens", "tokens:write — create a token; the plaintext is shown once"),
        ("GET", "/api/v2/tokens/{id}", "tokens:read"),
        ("POST", "/api/v2/tokens/{id}/rotate", "tokens:write — new secret, same id"),
        ("POST", "/api/v2/tokens/{id}/revoke", "tokens:write"),
        ("POST", "/oauth/device_authorization", "RFC 8628: start a device login (client_id=sitegpt-cli)"),
        ("POST", "/oauth/token", "RFC 8628: poll for the token"),
        ("POST", "/oauth/revoke", "RFC 7009: revoke a token"),
        ("POST", "/oauth/introspect", "RFC 7662: inspect a token (registered clients, or tokens:read)"),
        ("GET", "/.well-known/oauth-authorization-server", "RFC 8414 metadata"),
        ("GET", "/.well-known/oauth-protected-resource/api/v2", "RFC 9728 metadata"),
        ("POST", "/mcp", "the MCP server: the API as tools (see below)"),
        ("GET", "/.well-known/oauth-protected-resource/mcp", "RFC 9728 metadata of the MCP server"),
    ];
    let body = html! {
        section.card.wide {
            h1 { "API documentation" }
            p.lead { "Send " code { "Authorization: Bearer sgpt_…" } " to " code { (base) "/api/v2" } ". Responses are "
                code { "{\"ok\", \"data\", \"meta\"}" } " envelopes; errors carry a stable " code { "error.code" } "." }
            ul.scopes {
                @for (method, path, what) in rows {
                    li { span.resource { code { (method) " " (path) } } ul { li { (what) } } }
                }
            }
            h2 id="mcp" { "MCP server" }
            p { "AI clients reach the same operations as tools at " code { (base) "/mcp" } " (Streamable HTTP). "
                "They sign in by OAuth through discovery, or send a token as " code { "Authorization: Bearer sgpt_…" } ". "
                "Tools are named for their resource and action (" code { "chatbots_list" } ", " code { "knowledge_create" }
                "); a call needing a scope the token lacks answers 403 " code { "insufficient_scope" }
                " so the client can ask for it, and other refusals come back as tool errors with the API's code." }
            h2 id="v0" { "Deprecated: API v0 (whitelabel)" }
            p { "API v0 is served for existing whitelabel integrations until " strong { "30 June 2027" }
                ". It uses v0 API keys (" code { "Authorization: Bearer <uuid>" } ") and answers "
                code { "{\"success\", \"message\", \"data\"}" } ". Move to API v2 and scoped tokens; the full "
                "description of both is in the " a href="/api/v2/openapi.json" { "OpenAPI document" } "." }
            ul.scopes {
                @for (method, path) in V0_ROUTES {
                    li { span.resource { code { (method) " " (path) } } }
                }
            }
        }
    };
    html(StatusCode::OK, page("API documentation", viewer, body))
}
