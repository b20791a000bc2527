//! The start page.

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
            p { "Create, rotate and revoke API tokens on the " a href="/dashboard/agents" { "Agents page" } ", manage your chatbots on the "
                a href="/dashboard/chatbots" { "Chatbots page" } ", and see who is in your team on the "
                a href="/dashboard/members" { "Members page" } "." }
            p { "Run " code { "sitegpt login" } " in a terminal, then enter the code it shows on the "
                a href="/device" { "device approval page" } "." }
            p { "Connect Claude Code, VS Code, Cursor or any MCP client from the "
                a href="/dashboard/mcp" { "AI clients page" } "." }
        }
    };
    Ok(html(StatusCode::OK, page("Your account", Some(signed_in.viewer()), body)))
}
