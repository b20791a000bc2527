//! The Agents page (`/dashboard/agents`): the signed-in user's API tokens, with revoked ones
//! behind a toggle; owners and admins can switch to every token of the
//! account.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_access::CreatedVia;
use sitegpt_store::{AuditQuery, TokenQuery, TokenRecord};

use super::layout::{chatbot_names, copyable, describe_access, page, scope_list};
use super::require_sign_in;
use super::urlencode;
use super::{MaybeSession, WebError, html, pick_team};
use crate::state::AppState;

/// Tokens shown on one page (the API pages further).
const SHOWN: usize = 200;
/// An expiry this close is highlighted.
const SOON: i64 = 7;

#[derive(Debug, Deserialize)]
pub struct AgentsParams {
    /// `1` to include revoked tokens.
    revoked: Option<String>,
    /// `all` for every token of the account (owners and admins).
    owner: Option<String>,
    /// Which of the person's teams (default: the first they joined).
    account: Option<String>,
    /// What was just done, for a notice (`revoked`).
    done: Option<String>,
    /// Only the tokens limited to this chatbot.
    chatbot: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<AgentsParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/agents")?;
    let user = &signed_in.session.user;
    let viewer = signed_in.viewer();
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let account = &team.account;
    let manager = team.role.manages_account();
    let everyone = manager && params.owner.as_deref() == Some("all");
    let with_revoked = params.revoked.as_deref() == Some("1");
    let mut tokens = state
        .store
        .list_tokens(TokenQuery {
            account_id: account.id.clone(),
            user_id: (!everyone).then(|| user.id.clone()),
            include_revoked: with_revoked,
            limit: SHOWN,
            after: None,
        })
        .await?;
    let chatbots = chatbot_map(&state, &account.id).await?;
    let only_bot = params.chatbot.as_deref().filter(|id| !id.is_empty());
    if let Some(bot) = only_bot {
        tokens.retain(|t| t.chatbots.ids().iter().any(|id| id == bot));
    }
    let owners: HashMap<String, String> = if everyone {
        state.store.members(&account.id).await?.into_iter().map(|m| (m.user.id, m.user.email)).collect()
    } else {
        HashMap::new()
    };
    let several = team.memberships.len() > 1;
    let link = |account_id: &str, revoked: bool, all: bool| {
        let mut query = Vec::new();
        if several {
            query.push(format!("account={}", urlencode(account_id)));
        }
        if revoked {
            query.push("revoked=1".to_owned());
        }
        if all {
            query.push("owner=all".to_owned());
        }
        if query.is_empty() { "/dashboard/agents".to_owned() } else { format!("/dashboard/agents?{}", query.join("&")) }
    };
    let notice = match params.done.as_deref() {
        Some("revoked") => Some("Token revoked. It stopped working immediately."),
        _ => None,
    };
    let invitations = state.store.invitations_to(&user.email, Utc::now()).await?;
    let now = Utc::now();
    let body = html! {
        section.card.wide.agents {
            div.heading {
                h1 { "Agents" }
                a.button.primary.create href=(team.link("/dashboard/agents/new")) { "Create token" }
            }
            p.lead {
                "API tokens let scripts, the " code { "sitegpt" } " CLI and AI agents act for you in "
                strong { (account.name) } ". Each one has its own scopes, chatbots and expiry."
            }
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            @if !invitations.is_empty() {
                p.filter.invited role="status" {
                    @for (i, (_, team)) in invitations.iter().enumerate() { @if i > 0 { ", " } strong { (team) } }
                    @if invitations.len() == 1 { " invited you to join." } @else { " invited you to join them." }
                    " " a href="/invitations" { "See the invitation" @if invitations.len() > 1 { "s" } }
                }
            }
            @if let Some(bot) = only_bot {
                p.filter role="status" {
                    "Showing the tokens limited to " strong { (chatbots.get(bot).map_or(bot, String::as_str)) } ". "
                    a href=(link(&account.id, with_revoked, everyone)) { "Show every token" }
                }
            }
            @if several {
                nav.toggles aria-label="Team" {
                    @for (t, _) in &team.memberships {
                        a href=(link(&t.id, with_revoked, false)) aria-current=[(t.id == account.id).then_some("page")] {
                            (t.name)
                        }
                    }
                }
            }
            nav.toggles aria-label="Which tokens" {
                @if manager {
                    a href=(link(&account.id, with_revoked, false)) aria-current=[(!everyone).then_some("page")] { "My tokens" }
                    a href=(link(&account.id, with_revoked, true)) aria-current=[everyone.then_some("page")] { "All account tokens" }
                }
                a.revoked-toggle href=(link(&account.id, !with_revoked, everyone)) {
                    @if with_revoked { "Hide revoked" } @else { "Show revoked" }
                }
            }
            @if tokens.is_empty() {
                p.empty { "No tokens yet. " a href=(team.link("/dashboard/agents/new")) { "Create one" } ", or run " code { "sitegpt login" } " in a terminal to connect the CLI." }
            } @else {
                div.table-wrap {
                    table.tokens {
                        thead {
                            tr {
                                th scope="col" { "Name" }
                                @if everyone { th scope="col" { "Owner" } }
                                th scope="col" { "Access" }
                                th scope="col" { "Chatbots" }
                                th scope="col" { "Created" }
                                th scope="col" { "Last used" }
                                th scope="col" { "Expires" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @for token in &tokens {
                                (row(token, everyone.then(|| owner_of(&owners, token)), token.user_id == user.id, &chatbots, now))
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, page("Agents", Some(viewer.at("/dashboard/agents")), body)))
}

fn owner_of<'a>(owners: &'a HashMap<String, String>, token: &TokenRecord) -> &'a str {
    owners.get(&token.user_id).map_or("a former member", String::as_str)
}

fn row(
    token: &TokenRecord,
    owner: Option<&str>,
    own: bool,
    chatbots: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Markup {
    let revoked = token.revoked_at.is_some();
    let expired = token.expires_at <= now;
    let soon = !revoked && !expired && token.expires_at - now <= Duration::days(SOON);
    html! {
        tr.revoked[revoked] {
            th scope="row" {
                a.name href={ "/dashboard/agents/" (token.id) } { (token.name) }
                span.hint { "···" (token.hint) }
                @if let Some(at) = token.revoked_at { span.badge.danger { "Revoked " (day(at)) } }
                @else if expired { span.badge.danger { "Expired" } }
            }
            @if let Some(owner) = owner { td data-label="Owner" { (owner) } }
            td.access data-label="Access" {
                (describe_access(token))
                @if token.allowed_ips.is_restricted() {
                    span.hint title=(token.allowed_ips.to_stored()) {
                        "only from " (token.allowed_ips.ranges()[0])
                        @if token.allowed_ips.ranges().len() > 1 { " +" (token.allowed_ips.ranges().len() - 1) }
                    }
                }
            }
            td data-label="Chatbots" { (chatbot_names(token, chatbots.iter().map(|(id, name)| (id.as_str(), name.as_str())))) }
            td.date data-label="Created" { (day(token.created_at)) }
            td.date data-label="Last used" {
                @match token.last_used_at { Some(at) => (day(at)), None => span.muted { "Never" } }
                @if let Some(ip) = &token.last_used_ip { span.hint { (ip) } }
            }
            td.date.soon[soon] data-label="Expires" {
                (day(token.expires_at))
                @if soon { span.badge.warn { "in " (days_left(token.expires_at, now)) } }
            }
            td.row-actions {
                @if !revoked {
                    @if own && !expired { a href={ "/dashboard/agents/" (token.id) "/rotate" } aria-label={ "Rotate " (token.name) } { "Rotate" } }
                    a.danger href={ "/dashboard/agents/" (token.id) "/revoke" } aria-label={ "Revoke " (token.name) } { "Revoke" }
                }
            }
        }
    }
}

/// How a token came to be, in words.
fn created_via(via: CreatedVia) -> &'static str {
    match via {
        CreatedVia::Dashboard => "This dashboard",
        CreatedVia::Api => "The API (by another token)",
        CreatedVia::CliDevice => "Device login (CLI or agent)",
        CreatedVia::Admin => "An administrator's command",
        CreatedVia::OAuth => "An OAuth app (Connected apps)",
    }
}

/// `GET /dashboard/agents/{id}`: everything about one token, with Rotate and
/// Revoke. Its owner sees it, and so do the team's owners and admins.
pub async fn detail(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, &format!("/dashboard/agents/{}", urlencode(&id)))?;
    let Some((token, team)) = super::tokens::visible(&state, &signed_in, &id).await? else {
        return Err(WebError::NotFound);
    };
    let chatbots = chatbot_map(&state, &team.account.id).await?;
    let own = token.user_id == signed_in.session.user.id;
    let names = super::security::names(&state.store.members(&team.account.id).await?);
    let owner = names.get(&token.user_id).cloned().unwrap_or_else(|| "a former member".to_owned());
    let history = AuditQuery {
        token_id: Some(token.id.clone()),
        everyone: team.role.manages_account(),
        limit: super::security::TOKEN_PAGE_EVENTS,
        ..AuditQuery::everything(&team.account.id, &signed_in.session.user.id)
    };
    let events = state.store.audit_events(history).await?;
    let now = Utc::now();
    let revoked = token.revoked_at.is_some();
    let expired = token.expires_at <= now;
    let back = if own { team.link("/dashboard/agents") } else { team.link("/dashboard/agents?owner=all") };
    let body = html! {
        section.card.wide.token-detail {
            p.back { a href=(back) { "← Agents" } }
            div.heading {
                h1 { (token.name) }
                @if let Some(at) = token.revoked_at { span.badge.danger { "Revoked " (day(at)) } }
                @else if expired { span.badge.danger { "Expired" } }
                @else { span.badge.ok { "Active" } }
            }
            dl.facts {
                dt { "ID" }
                dd { (copyable("token-id", &token.id, "Token ID")) }
                dt { "Secret" } dd { "Ends in " code { "···" (token.hint) } " (the secret itself is never shown again)" }
                dt { "Team" } dd { (team.account.name) }
                dt { "Owner" } dd { (owner) }
                dt { "Created via" } dd { (created_via(token.created_via)) }
                dt { "Created" } dd { (stamp(token.created_at)) }
                @if token.secret_issued_at > token.created_at + Duration::seconds(1) {
                    dt { "Last rotated" } dd { (stamp(token.secret_issued_at)) }
                }
                dt { "Last used" } dd {
                    @match token.last_used_at {
                        Some(at) => {
                            (stamp(at))
                            @if let Some(ip) = &token.last_used_ip { " from " code { (ip) } }
                            @if let Some(agent) = &token.last_used_user_agent { br; span.muted { (agent) } }
                        },
                        None => "Never",
                    }
                }
                dt { "Allowed from" } dd {
                    @if token.allowed_ips.is_restricted() {
                        @for (i, range) in token.allowed_ips.ranges().iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (range) }
                        }
                    } @else { "Any address" }
                }
                dt { "Expires" } dd {
                    (stamp(token.expires_at))
                    @if !revoked && !expired { " (in " (days_left(token.expires_at, now)) ")" }
                }
                @if let Some(at) = token.revoked_at { dt { "Revoked" } dd { (stamp(at)) } }
                dt { "Chatbots" } dd {
                    @if token.chatbots.is_restricted() {
                        "Only "
                        @for (i, id) in token.chatbots.ids().iter().enumerate() {
                            @if i > 0 { ", " }
                            @match chatbots.get(id) {
                                Some(name) => a href=(team.link(&format!("/dashboard/chatbots#{id}"))) { (name) },
                                None => { code { (id) } " (deleted)" },
                            }
                        }
                    } @else { "All chatbots of the team" }
                }
                @if let Some(audience) = &token.audience {
                    dt { "Only for" } dd { code { (audience.as_str()) } }
                }
            }
            h2 #access-heading { "Access: " (describe_access(&token)) }
            (scope_list(token.scopes, None, "access-heading"))
            @if !revoked {
                div.actions.token-actions {
                    @if own && !expired { a.button.secondary href={ "/dashboard/agents/" (token.id) "/rotate" } { "Rotate" } }
                    a.button.danger href={ "/dashboard/agents/" (token.id) "/revoke" } { "Revoke" }
                }
            }
            h2 #history { "History" }
            @if events.is_empty() {
                p.muted { "No events are kept for this token." }
            } @else {
                (super::security::events_table(&events, &team, &names))
                p.more { a href=(team.link(&format!("/dashboard/security?tokenId={}", token.id))) { "All of this token's events in the Security log →" } }
            }
        }
    };
    Ok(html(StatusCode::OK, page(&token.name, Some(signed_in.viewer().at("/dashboard/agents")), body)))
}

async fn chatbot_map(state: &AppState, account_id: &str) -> Result<HashMap<String, String>, WebError> {
    Ok(super::tokens::chatbots_of(state, account_id).await?.into_iter().map(|bot| (bot.id, bot.name)).collect())
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Whole days left, rounded up: a 7-day token made a second ago has 7.
fn days_left(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (expires_at - now).num_seconds().max(0) as u64;
    match seconds.div_ceil(86_400) {
        _ if seconds < 86_400 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_round_up() {
        let now = Utc::now();
        let left = |d: Duration| days_left(now + d, now);
        assert_eq!(left(Duration::days(7) - Duration::seconds(1)), "7 days");
        assert_eq!(left(Duration::days(7)), "7 days");
        assert_eq!(left(Duration::days(6) + Duration::hours(1)), "7 days");
        assert_eq!(left(Duration::days(1)), "1 day");
        assert_eq!(left(Duration::hours(36)), "2 days");
        assert_eq!(left(Duration::hours(23)), "less than a day");
        assert_eq!(left(Duration::seconds(-5)), "less than a day");
    }
}
