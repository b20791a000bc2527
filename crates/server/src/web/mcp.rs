//! "Connect an AI client" (`/dashboard/mcp`): the MCP endpoint's address and
//! ready setup for the common clients, by OAuth or with a token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{MaybeSession, WebError, html, require_sign_in};
use crate::state::AppState;
use crate::web::layout::page;

/// A snippet to copy: a read-only text area with a copy button.
fn snippet(id: &str, label: &str, text: &str) -> Markup {
    let rows = text.lines().count().max(1);
    html! {
        div.field.snippet {
            label for=(id) { (label) }
            div.copy-row {
                textarea id=(id) readonly rows=(rows) spellcheck="false" autocomplete="off" { (text) }
                button.copy type="button" data-copy=(id) hidden { "Copy" }
            }
        }
    }
}

pub async fn show(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/mcp")?;
    let url = format!("{}/mcp", state.public_url);
    let claude = format!("claude mcp add --transport http sitegpt {url}");
    let vscode =
        format!("{{\n  \"servers\": {{\n    \"sitegpt\": {{ \"type\": \"http\", \"url\": \"{url}\" }}\n  }}\n}}");
    let cursor = format!("{{\n  \"mcpServers\": {{\n    \"sitegpt\": {{ \"url\": \"{url}\" }}\n  }}\n}}");
    let claude_token =
        format!("claude mcp add --transport http sitegpt {url} \\\n  --header \"Authorization: Bearer sgpt_…\"");
    let vscode_token = format!(
        "{{\n  \"servers\": {{\n    \"sitegpt\": {{\n      \"type\": \"http\",\n      \"url\": \"{url}\",\n      \
         \"headers\": {{ \"Authorization\": \"Bearer sgpt_…\" }}\n    }}\n  }}\n}}"
    );
    let body = html! {
        section.card.wide {
            h1 { "Connect an AI client" }
            p.lead {
                "AI clients that speak the Model Context Protocol use SiteGPT's API as tools at this address. "
                "They sign you in here, ask for the scopes they need, and you approve or narrow them."
            }
            div.field {
                label for="mcp-url" { "MCP server URL" }
                div.copy-row {
                    input #mcp-url.copy-value type="text" readonly value=(url) autocomplete="off" spellcheck="false";
                    button.copy type="button" data-copy="mcp-url" hidden { "Copy" }
                }
                p.hint { "Streamable HTTP. Sign-in by OAuth, found by discovery: most clients need only this address." }
            }
            h2 { "Claude Code" }
            (snippet("claude", "Run in a terminal", &claude))
            h2 { "VS Code" }
            (snippet("vscode", "Add to .vscode/mcp.json", &vscode))
            h2 { "Cursor" }
            (snippet("cursor", "Add to ~/.cursor/mcp.json", &cursor))
            h2 { "Any other client" }
            p {
                "Give it the URL above. Each API operation is a tool named for its resource and action, "
                "such as " code { "chatbots_list" } " or " code { "knowledge_create" } "; an app you connect "
                "can ask for more scopes later, and you see it under " a href="/dashboard/apps" { "Connected apps" } "."
            }
            h2 { "With a token instead" }
            p {
                "For a client that cannot sign in by OAuth, "
                a href="/dashboard/agents/new" { "create a Custom token" }
                " with only the scopes it needs, restricted to one chatbot, and send it as "
                code { "Authorization: Bearer sgpt_…" } ". It sees only the tools its scopes allow."
            }
            (snippet("claude-token", "Claude Code with a token", &claude_token))
            (snippet("vscode-token", "VS Code with a token", &vscode_token))
        }
    };
    Ok(html(StatusCode::OK, page("Connect an AI client", Some(signed_in.viewer().at("/dashboard/mcp")), body)))
}
