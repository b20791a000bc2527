//! The Chatbots page (`/dashboard/chatbots`): every chatbot of a team with
//! its copyable id and the tokens limited to it; people whose role allows it
//! create, rename and delete chatbots here, under the API's rules (the
//! decision of `/api/v2/chatbots` for a token holding every scope, so the
//! person's role, verified e-mail and the team's subscription decide).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_access::{Denial, RouteRule, Scope, Target};
use sitegpt_store::{Chatbot, ChatbotPatch, ItemQuery, TokenQuery};

use super::layout::{alert, copyable, page};
use super::tokens::chatbots_of;
use super::{
    MaybeSession, SignedIn, Team, WebError, WebForm, decide_for_person, html, pick_team, redirect, require_sign_in,
    signed_in_post, urlencode,
};
use crate::issue::{NAME_MAX, check_name};
use crate::state::AppState;

/// Tokens read to count those limited to each chatbot.
const TOKENS_READ: usize = 1_000;
/// Records of one kind counted for the delete confirmation ("1000+" beyond).
const COUNT_MAX: usize = 1_000;

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    account: String,
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    csrf: String,
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

/// What the person may do here, or why not, in the API's words.
struct Allowed {
    create: Result<(), Denial>,
    rename: Result<(), Denial>,
    delete: Result<(), Denial>,
}

impl Allowed {
    fn of(signed_in: &SignedIn, team: &Team) -> Allowed {
        let record = Target::Record { same_account: true, chatbot: None };
        Allowed {
            create: decide_for_person(signed_in, team, RouteRule::new(Scope::ChatbotsWrite), Target::Account),
            rename: decide_for_person(signed_in, team, RouteRule::new(Scope::ChatbotsWrite), record),
            delete: decide_for_person(signed_in, team, RouteRule::new(Scope::ChatbotsDelete), record),
        }
    }
}

/// A refusal as the page says it.
fn refusal(denial: &Denial) -> (StatusCode, String) {
    match denial {
        Denial::EmailNotVerified => {
            (StatusCode::FORBIDDEN, "Verify your e-mail address to create, rename or delete chatbots.".to_owned())
        }
        Denial::SubscriptionRequired => (
            StatusCode::PAYMENT_REQUIRED,
            "An active team subscription is required to create, rename or delete chatbots.".to_owned(),
        ),
        Denial::Forbidden(why) => {
            (StatusCode::FORBIDDEN, format!("{why} Ask an owner or admin of the team to do this."))
        }
        other => (StatusCode::FORBIDDEN, other.message()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<super::TeamPageParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/chatbots")?;
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let notice = match params.done.as_deref() {
        Some("created") => Some("Chatbot created."),
        Some("renamed") => Some("Chatbot renamed."),
        Some("deleted") => Some("Chatbot deleted, with everything in it."),
        _ => None,
    };
    list_page(&state, &signed_in, &team, StatusCode::OK, notice, None, "").await
}

/// Tokens of the team (the person's own, or everyone's for owners and
/// admins) limited to each chatbot, counted.
async fn tokens_per_chatbot(
    state: &AppState,
    signed_in: &SignedIn,
    team: &Team,
) -> Result<HashMap<String, usize>, WebError> {
    let everyone = team.role.manages_account();
    let tokens = state
        .store
        .list_tokens(TokenQuery {
            account_id: team.account.id.clone(),
            user_id: (!everyone).then(|| signed_in.session.user.id.clone()),
            include_revoked: false,
            limit: TOKENS_READ,
            after: None,
        })
        .await?;
    let mut counts = HashMap::new();
    for token in tokens.iter().filter(|t| t.expires_at > Utc::now()) {
        for id in token.chatbots.ids() {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Where the tokens limited to `chatbot` are listed.
fn tokens_link(team: &Team, chatbot: &str) -> String {
    let all = if team.role.manages_account() { "&owner=all" } else { "" };
    team.link(&format!("/dashboard/agents?chatbot={}{all}", urlencode(chatbot)))
}

async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    team: &Team,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    typed: &str,
) -> Result<Response, WebError> {
    let chatbots = chatbots_of(state, &team.account.id).await?;
    let counts = tokens_per_chatbot(state, signed_in, team).await?;
    let allowed = Allowed::of(signed_in, team);
    let whose = if team.role.manages_account() { "" } else { "of yours " };
    let body = html! {
        section.card.wide.chatbots {
            h1 { "Chatbots" }
            p.lead { "The chatbots of " strong { (team.account.name) } ". A token can be limited to some of them: "
                "copy an id for " code { "sitegpt tokens create --chatbot" } " or pick them when you create a token." }
            (team.switcher("/dashboard/chatbots"))
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            (alert(error))
            @match &allowed.create {
                Ok(()) => {
                    form.inline-create method="post" action="/dashboard/chatbots" {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        input type="hidden" name="account" value=(team.account.id);
                        div.create-row {
                            div.field {
                                label for="chatbot-name" { "New chatbot" }
                                input #chatbot-name type="text" name="name" value=(typed) required maxlength=(NAME_MAX)
                                    placeholder="Support bot" autocomplete="off";
                            }
                            div.field.submit { button.primary type="submit" { "Create chatbot" } }
                        }
                    }
                }
                Err(denial) => { p.hint.why role="status" { (refusal(denial).1) } }
            }
            @if chatbots.is_empty() {
                p.empty { "No chatbots yet." }
            } @else {
                div.table-wrap {
                    table.tokens.bots {
                        thead { tr {
                            th scope="col" { "Name" }
                            th scope="col" { "ID" }
                            th scope="col" { "Created" }
                            th scope="col" { "Tokens limited to it" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        } }
                        tbody {
                            @for bot in &chatbots {
                                (row(signed_in, team, bot, counts.get(&bot.id).copied().unwrap_or(0), whose, &allowed))
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(status, page("Chatbots", Some(signed_in.viewer().at("/dashboard/chatbots")), body)))
}

fn row(signed_in: &SignedIn, team: &Team, bot: &Chatbot, tokens: usize, whose: &str, allowed: &Allowed) -> Markup {
    let field = format!("id-{}", bot.id);
    html! {
        tr id=(bot.id) {
            th scope="row" { (bot.name) }
            td.id data-label="ID" { (copyable(&field, &bot.id, &format!("ID of {}", bot.name))) }
            td.date data-label="Created" { (bot.created_at.format("%Y-%m-%d")) }
            td data-label="Tokens limited to it" {
                @if tokens == 0 { span.muted { "None " (whose) } }
                @else { a href=(tokens_link(team, &bot.id)) { (tokens) " token" @if tokens != 1 { "s" } " " (whose) } }
            }
            td.row-actions {
                @if allowed.rename.is_ok() {
                    details.rename {
                        summary aria-label={ "Rename " (bot.name) } { "Rename" }
                        form method="post" action={ "/dashboard/chatbots/" (bot.id) "/rename" } {
                            input type="hidden" name="csrf" value=(signed_in.csrf());
                            label.visually-hidden for={ "rename-" (bot.id) } { "New name for " (bot.name) }
                            input id={ "rename-" (bot.id) } type="text" name="name" value=(bot.name) required maxlength=(NAME_MAX);
                            button.small type="submit" { "Save" }
                        }
                    }
                }
                @if allowed.delete.is_ok() {
                    a.danger href={ "/dashboard/chatbots/" (bot.id) "/delete" } aria-label={ "Delete " (bot.name) } { "Delete" }
                }
            }
        }
    }
}

/// `POST /dashboard/chatbots`: creates a chatbot.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<CreateForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/dashboard/chatbots")?;
    let team = match pick_team(&state, &signed_in, Some(&form.account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    if let Err(denial) = Allowed::of(&signed_in, &team).create {
        let (status, message) = refusal(&denial);
        return list_page(&state, &signed_in, &team, status, None, Some(&message), &form.name).await;
    }
    if let Err(message) = check_name(&form.name) {
        let message = super::sentence(&message);
        return list_page(&state, &signed_in, &team, StatusCode::BAD_REQUEST, None, Some(&message), &form.name).await;
    }
    let chatbot = state.store.create_chatbot(&team.account.id, &form.name, Utc::now()).await?;
    tracing::info!(chatbot_id = %chatbot.id, by_user = %signed_in.session.user.id, "chatbot created");
    Ok(redirect(&team.link("/dashboard/chatbots?done=created")))
}

/// The chatbot `id` and the person's team for it, when they are in its team.
async fn load(state: &AppState, signed_in: &SignedIn, id: &str) -> Result<(Chatbot, Team), WebError> {
    let chatbot = if sitegpt_access::id::is_plausible_id(id) { state.store.chatbot(id).await? } else { None };
    let Some(chatbot) = chatbot else { return Err(WebError::NotFound) };
    match pick_team(state, signed_in, Some(&chatbot.account_id)).await? {
        Ok(team) => Ok((chatbot, team)),
        Err(_) => Err(WebError::NotFound),
    }
}

/// `POST /dashboard/chatbots/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    WebForm(form): WebForm<RenameForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/dashboard/chatbots")?;
    let (chatbot, team) = load(&state, &signed_in, &id).await?;
    if let Err(denial) = Allowed::of(&signed_in, &team).rename {
        let (status, message) = refusal(&denial);
        return list_page(&state, &signed_in, &team, status, None, Some(&message), "").await;
    }
    if let Err(message) = check_name(&form.name) {
        let message = format!("{} keeps its name: {}", chatbot.name, super::sentence(&message));
        return list_page(&state, &signed_in, &team, StatusCode::BAD_REQUEST, None, Some(&message), "").await;
    }
    let patch = ChatbotPatch { name: Some(form.name), description: None, appearance: None };
    state.store.update_chatbot(&chatbot.id, patch, Utc::now()).await?;
    Ok(redirect(&team.link("/dashboard/chatbots?done=renamed")))
}

/// How many records of each kind go with a chatbot, for the confirmation.
async fn contents(state: &AppState, chatbot_id: &str) -> Result<Vec<(String, &'static str)>, WebError> {
    const KINDS: [(&str, &str); 6] = [
        ("knowledge", "knowledge sources"),
        ("personas", "personas"),
        ("instructions", "instructions"),
        ("starters", "conversation starters"),
        ("followups", "followups"),
        ("leads", "leads"),
    ];
    let query = |kind: &str| ItemQuery {
        chatbot_id: chatbot_id.to_owned(),
        kind: kind.to_owned(),
        limit: COUNT_MAX + 1,
        after: None,
    };
    let shown = |n: usize| if n > COUNT_MAX { format!("{COUNT_MAX}+") } else { n.to_string() };
    let mut out = Vec::new();
    for (kind, label) in KINDS {
        let n = state.store.list_items(query(kind)).await?.len();
        if n > 0 {
            out.push((shown(n), label));
        }
    }
    let conversations = state.store.list_conversations(query("conversations"), None).await?.len();
    if conversations > 0 {
        out.push((shown(conversations), "conversations"));
    }
    Ok(out)
}

/// `GET /dashboard/chatbots/{id}/delete`: what goes with it, and a button.
pub async fn confirm_delete(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, &format!("/dashboard/chatbots/{}/delete", urlencode(&id)))?;
    let (chatbot, team) = load(&state, &signed_in, &id).await?;
    if let Err(denial) = Allowed::of(&signed_in, &team).delete {
        let (status, message) = refusal(&denial);
        return list_page(&state, &signed_in, &team, status, None, Some(&message), "").await;
    }
    let contents = contents(&state, &chatbot.id).await?;
    let tokens = tokens_per_chatbot(&state, &signed_in, &team).await?.get(&chatbot.id).copied().unwrap_or(0);
    let body = html! {
        section.card {
            h1 { "Delete " (chatbot.name) "?" }
            p { "This cannot be undone. Deleted with it:" }
            ul.goes {
                @for (n, what) in &contents { li { (n) " " (what) } }
                li { "its settings and appearance" }
            }
            @if tokens > 0 {
                p.warning role="note" {
                    a href=(tokens_link(&team, &chatbot.id)) { (tokens) " token" @if tokens != 1 { "s" } }
                    " limited to this chatbot keep" @if tokens == 1 { "s" } " working for any other chatbots they name; "
                    "one limited to this chatbot alone reaches no chatbot any more."
                }
            }
            form method="post" action={ "/dashboard/chatbots/" (chatbot.id) "/delete" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                div.actions {
                    a.button.secondary href=(team.link("/dashboard/chatbots")) { "Cancel" }
                    button.danger.solid type="submit" { "Delete chatbot" }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, page("Delete chatbot", Some(signed_in.viewer().at("/dashboard/chatbots")), body)))
}

/// `POST /dashboard/chatbots/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    WebForm(form): WebForm<DeleteForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/dashboard/chatbots")?;
    let (chatbot, team) = load(&state, &signed_in, &id).await?;
    if let Err(denial) = Allowed::of(&signed_in, &team).delete {
        let (status, message) = refusal(&denial);
        return list_page(&state, &signed_in, &team, status, None, Some(&message), "").await;
    }
    state.store.delete_chatbot(&chatbot.id).await?;
    tracing::info!(chatbot_id = %chatbot.id, by_user = %signed_in.session.user.id, "chatbot deleted");
    Ok(redirect(&team.link("/dashboard/chatbots?done=deleted")))
}
