//! The Security log (`/dashboard/security`): the audit log of the team as
//! `GET /api/v2/audit-events` shows it, with the same filters and the same
//! rule (owners and admins see everyone's events, others their own). Token
//! pages show their token's events with [`events_table`].

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sitegpt_store::{AuditAction, AuditEvent};

use super::layout::page;
use super::{MaybeSession, Team, WebError, html, pick_team, require_sign_in, urlencode};
use crate::error::ApiError;
use crate::routes::audit::{Filters, ListParams};
use crate::routes::paging::{DEFAULT_LIMIT, encode_cursor, window};
use crate::state::AppState;

const HERE: &str = "/dashboard/security";

/// The page's query: the team, the API's filters, and the page's cursor.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityParams {
    account: Option<String>,
    token_id: Option<String>,
    user_id: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

impl SecurityParams {
    fn list_params(&self) -> ListParams {
        ListParams {
            token_id: self.token_id.clone(),
            user_id: self.user_id.clone(),
            action: self.action.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            limit: None,
            cursor: self.cursor.clone(),
        }
    }

    /// The filters as a query string (without the cursor), for the next
    /// page's link.
    fn query(&self) -> String {
        [
            ("tokenId", &self.token_id),
            ("userId", &self.user_id),
            ("action", &self.action),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{name}={}", urlencode(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<SecurityParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, HERE)?;
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let everyone = team.role.manages_account();
    let members = state.store.members(&team.account.id).await?;
    let list = params.list_params();
    let checked = window(None, list.cursor.as_deref()).and_then(|window| Ok((window, Filters::parse(&list)?)));
    let (status, events, next, problem) = match checked {
        Ok(((limit, after), filters)) => {
            let query = filters.query(&team.account.id, &signed_in.session.user.id, everyone, limit + 1, after);
            let mut events = state.store.audit_events(query).await?;
            let next = (events.len() > limit).then(|| {
                events.truncate(limit);
                events.last().map(|e| encode_cursor(e.at, &e.id))
            });
            (StatusCode::OK, events, next.flatten(), None)
        }
        Err(ApiError::Validation(errors)) => {
            let problem = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
            (StatusCode::BAD_REQUEST, Vec::new(), None, Some(problem))
        }
        Err(other) => return Err(WebError::Internal(other.to_string())),
    };
    let filtered = !params.query().is_empty();
    let next_link = next.map(|cursor| {
        let query = params.query();
        let joined = if query.is_empty() { String::new() } else { format!("{query}&") };
        team.link(&format!("{HERE}?{joined}cursor={cursor}"))
    });
    let body = html! {
        section.card.wide.security {
            h1 { "Security log" }
            p.lead {
                @if everyone {
                    "What happened to the tokens, connected apps and members of " (team.account.name) ", who did it, when and from where. "
                } @else {
                    "What you did in " (team.account.name) " and what concerned you: your tokens, your role, your sign-ins. "
                }
                "Sign-ins and password changes are yours alone. Events are kept "
                (state.audit_retention.num_days()) " days."
            }
            form.filters method="get" action=(HERE) {
                @if team.query().is_some() { input type="hidden" name="account" value=(team.account.id); }
                label { "What"
                    select name="action" {
                        option value="" { "Everything" }
                        @for (value, label) in ACTION_CHOICES {
                            option value=(value) selected[params.action.as_deref() == Some(value)] { (label) }
                        }
                    }
                }
                @if everyone {
                    label { "Person"
                        select name="userId" {
                            option value="" { "Everyone" }
                            @for member in &members {
                                option value=(member.user.id) selected[params.user_id.as_deref() == Some(member.user.id.as_str())] { (member.user.email) }
                            }
                        }
                    }
                }
                label { "Token ID" input type="text" name="tokenId" value=(params.token_id.as_deref().unwrap_or_default()) placeholder="tok_…" autocomplete="off" spellcheck="false"; }
                label { "From" input type="date" name="since" value=(params.since.as_deref().unwrap_or_default()); }
                label { "To" input type="date" name="until" value=(params.until.as_deref().unwrap_or_default()); }
                div.actions {
                    button type="submit" { "Filter" }
                    @if filtered { a.button.secondary href=(team.link(HERE)) { "Clear" } }
                }
            }
            @if let Some(problem) = &problem { div.error role="alert" { (problem) } }
            @if events.is_empty() && problem.is_none() {
                p.empty { @if filtered { "No event matches these filters." } @else { "Nothing has happened yet." } }
            } @else if !events.is_empty() {
                (events_table(&events, &team, &names(&members)))
            }
            @if let Some(link) = &next_link {
                p.more { a href=(link) { "Older events →" } }
            }
        }
    };
    Ok(html(status, page("Security log", Some(signed_in.viewer().at(HERE)), body)))
}

/// The `action` filter's choices: each family, then each action.
const ACTION_CHOICES: [(&str, &str); 9] = [
    ("token", "Tokens: all"),
    ("token.created", "Tokens created"),
    ("token.revoked", "Tokens revoked"),
    ("token.leak_reported", "Tokens found in public"),
    ("token.address_refused", "Tokens refused for their address"),
    ("oauth_grant", "Connected apps"),
    ("user", "Sign-ins and passwords (yours)"),
    ("member", "Members"),
    ("subscription", "Subscription"),
];

/// Each member's e-mail by user id.
pub fn names(members: &[sitegpt_store::MemberRecord]) -> HashMap<String, String> {
    members.iter().map(|m| (m.user.id.clone(), m.user.email.clone())).collect()
}

/// Events as a table (cards on a phone): when, what, who, about what, from
/// where.
pub fn events_table(events: &[AuditEvent], team: &Team, names: &HashMap<String, String>) -> Markup {
    let person = |id: &Option<String>, email: &Option<String>| -> Option<String> {
        email
            .clone()
            .or_else(|| id.as_ref().map(|id| names.get(id).cloned().unwrap_or_else(|| "a former member".into())))
    };
    html! {
        div.table-wrap {
            table.tokens.events {
                thead { tr {
                    th scope="col" { "When" }
                    th scope="col" { "What" }
                    th scope="col" { "Who, from where" }
                    th scope="col" { "About" }
                } }
                tbody {
                    @for event in events {
                        tr.danger[matches!(event.action, AuditAction::TokenLeakReported | AuditAction::GrantLeakReported | AuditAction::SignInFailed | AuditAction::TokenAddressRefused)] {
                            th scope="row" {
                                time datetime=(event.at.to_rfc3339()) {
                                    (event.at.format("%Y-%m-%d")) span.hint { (event.at.format("%H:%M:%S UTC")) }
                                }
                            }
                            td.what data-label="What" {
                                (event.action.describe())
                                span.hint { code { (event.action.as_str()) } }
                                @let details = detail_text(event);
                                @if !details.is_empty() { span.hint { (details) } }
                            }
                            td data-label="Who, from where" {
                                @match (person(&event.actor_user_id, &event.actor_email), &event.actor_service) {
                                    (Some(who), _) => (who),
                                    (None, Some(service)) => span.muted { (service_name(service)) },
                                    (None, None) => span.muted { "Unknown" },
                                }
                                @if let Some(token) = &event.actor_token_id { span.hint { "with token " code { (token) } } }
                                @if let Some(ip) = &event.ip { span.hint { "from " code { (ip) } } }
                                @if let Some(agent) = &event.user_agent {
                                    span.hint title=(agent) { (clipped(agent, AGENT_SHOWN)) }
                                }
                            }
                            td data-label="About" {
                                @if let Some(token) = &event.token_id {
                                    a href=(team.link(&format!("/dashboard/agents/{token}"))) { (event.details.get("name").and_then(Value::as_str).unwrap_or(token)) }
                                    span.hint { code { (token) } }
                                }
                                @if let Some(who) = person(&event.user_id, &event.user_email) {
                                    @if event.token_id.is_some() { span.hint { "of " (who) } } @else { (who) }
                                }
                                @if let Some(target) = &event.target_id { span.hint { code { (target) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Characters of a `User-Agent` shown (all of it in the title).
const AGENT_SHOWN: usize = 48;

fn clipped(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(width - 1).collect::<String>())
    }
}

/// A service's name in words.
fn service_name(service: &str) -> &str {
    match service {
        "admin" => "An administrator's command",
        "system" => "SiteGPT",
        "github-secret-scanning" => "GitHub secret scanning",
        other => other,
    }
}

/// The details worth a line, in words: roles, how a token came, where a
/// leak was found, which app.
fn detail_text(event: &AuditEvent) -> String {
    let text = |key: &str| event.details.get(key).and_then(Value::as_str);
    let mut parts = Vec::new();
    if let (Some(from), Some(to)) = (text("from"), text("to")) {
        parts.push(format!("{from} → {to}"));
    }
    if let Some(via) = text("via") {
        parts.push(format!("via {via}"));
    }
    if let Some(client) = text("client") {
        parts.push(client.to_owned());
    }
    if let Some(email) = text("email") {
        parts.push(format!("{email} as {}", text("role").unwrap_or("member")));
    }
    if let Some(place) = text("foundAt") {
        parts.push(format!("found at {place}"));
    }
    if let Some(cause) = text("cause") {
        parts.push(cause.to_owned());
    }
    if let Some(count) = event.details.get("revokedTokens").and_then(Value::as_u64).filter(|n| *n > 0) {
        parts.push(format!("{count} token{} revoked", if count == 1 { "" } else { "s" }));
    }
    parts.join("; ")
}

/// How many events a token page shows.
pub const TOKEN_PAGE_EVENTS: usize = DEFAULT_LIMIT;
