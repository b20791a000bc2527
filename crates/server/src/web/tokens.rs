//! Creating, rotating and revoking tokens from the Agents page.
//!
//! Every action is a plain form post, so it works without JavaScript; rotate
//! and revoke ask for confirmation on a page of their own. A new secret is
//! shown once, in the response to the post (`Cache-Control: no-store`), and
//! never kept: each form carries a one-time key, so posting it again (a
//! reload) neither shows the secret nor mints a second one. Validation and
//! messages are the API's (`issue.rs`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use sitegpt_access::issuance::{Issuer, check_issuance};
use sitegpt_access::{AccessLevel, CreatedVia, PlainToken, Role, Scope, ScopeResource, ScopeSet};
use sitegpt_api_types::CreateTokenRequest;
use sitegpt_store::{Chatbot, ChatbotQuery, TokenRecord};

use super::layout::{alert, describe_access, page};
use super::{
    FormPairs, MaybeSession, SignedIn, Team, TeamParams, WebError, hash_secret, html, pick_team, random_secret,
    redirect, secret_page, sentence, sign_in_first, unverified_page,
};
use super::{require_sign_in, signed_in_post};
use crate::error::ApiError;
use crate::issue::{self, NAME_MAX};
use crate::state::AppState;

/// How long a form's one-time key is remembered.
const ONCE_WINDOW: chrono::Duration = chrono::Duration::days(1);

/// The access levels of the form, in the order shown.
const LEVELS: [(&str, &str, &str); 3] = [
    ("standard", "Standard", "Everything except creating tokens, changing billing and changing integrations."),
    ("full", "Full", "Every scope, including creating tokens and billing."),
    ("custom", "Custom", "Only the scopes you tick below."),
];

fn level_scopes(level: &str) -> Option<ScopeSet> {
    match level {
        "standard" => Some(AccessLevel::Standard.scopes()),
        "full" => Some(AccessLevel::Full.scopes()),
        _ => None,
    }
}

/// What the person typed, kept to show the form again.
#[derive(Debug, Clone)]
struct Draft {
    name: String,
    access: String,
    scopes: Vec<String>,
    chatbots: Vec<String>,
    expiry: String,
    days: String,
    date: String,
    /// Allowed addresses as typed (commas, spaces or lines between).
    allowed_ips: String,
    once: String,
}

impl Draft {
    fn fresh(role: Role) -> Draft {
        let standard_fits = AccessLevel::Standard.scopes().is_subset(role.ceiling());
        Draft {
            name: String::new(),
            access: if standard_fits { "standard" } else { "custom" }.to_owned(),
            scopes: Vec::new(),
            chatbots: Vec::new(),
            expiry: "days".to_owned(),
            days: "90".to_owned(),
            date: String::new(),
            allowed_ips: String::new(),
            once: random_secret(),
        }
    }

    fn from_form(form: &FormPairs) -> Draft {
        let text = |name: &str| form.get(name).unwrap_or_default().to_owned();
        Draft {
            name: text("name"),
            access: text("access"),
            scopes: form.all("scope"),
            chatbots: form.all("chatbot"),
            expiry: text("expiry"),
            allowed_ips: text("allowed_ips"),
            days: text("days"),
            date: text("date"),
            once: text("once"),
        }
    }
}

/// Problems with a draft, by the form field they belong to.
#[derive(Debug, Default)]
struct Problems {
    form: Option<String>,
    name: Option<String>,
    scopes: Option<String>,
    chatbots: Option<String>,
    expiry: Option<String>,
    allowed_ips: Option<String>,
}

impl Problems {
    fn add(slot: &mut Option<String>, message: String) {
        match slot {
            Some(existing) => {
                existing.push_str("; ");
                existing.push_str(&message);
            }
            None => *slot = Some(message),
        }
    }

    /// Files the API's field errors under the form's fields.
    fn file_api_error(&mut self, error: ApiError) -> Result<(), WebError> {
        match error {
            ApiError::Validation(errors) => {
                for e in errors {
                    let field = e.path.first().map(|p| serde_json::to_value(p).unwrap_or_default());
                    let slot = match field.as_ref().and_then(|v| v.as_str()) {
                        Some("name") => &mut self.name,
                        Some("scopes") => &mut self.scopes,
                        Some("chatbotIds") => &mut self.chatbots,
                        Some("expiresInDays" | "expiresAt") => &mut self.expiry,
                        Some("allowedIps") => &mut self.allowed_ips,
                        _ => &mut self.form,
                    };
                    Problems::add(slot, sentence(&e.message));
                }
                Ok(())
            }
            ApiError::Forbidden { message, .. } => {
                Problems::add(&mut self.form, message);
                Ok(())
            }
            ApiError::Internal(cause) => Err(WebError::Internal(cause)),
            other => {
                Problems::add(&mut self.form, other.to_string());
                Ok(())
            }
        }
    }

    fn any(&self) -> bool {
        self.form.is_some()
            || self.name.is_some()
            || self.scopes.is_some()
            || self.chatbots.is_some()
            || self.expiry.is_some()
            || self.allowed_ips.is_some()
    }
}

/// Chatbots the dashboard lists for an account.
const CHATBOTS_SHOWN: usize = 1_000;

/// The account's chatbots, oldest first (the first thousand).
pub(super) async fn chatbots_of(state: &AppState, account_id: &str) -> Result<Vec<Chatbot>, WebError> {
    let query =
        ChatbotQuery { account_id: account_id.to_owned(), only: Vec::new(), limit: CHATBOTS_SHOWN, after: None };
    Ok(state.store.list_chatbots(query).await?)
}

/// `GET /dashboard/agents/new`: the Create token form.
pub async fn new_form(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<TeamParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/agents/new")?;
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let chatbots = chatbots_of(&state, &team.account.id).await?;
    let draft = Draft::fresh(team.role);
    Ok(html(StatusCode::OK, form_page(&signed_in, &team, &chatbots, &draft, &Problems::default())))
}

/// `POST /dashboard/agents`: creates the token and shows its secret once.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: FormPairs,
) -> Result<Response, WebError> {
    let csrf = form.get("csrf").unwrap_or_default();
    let signed_in = signed_in_post(&headers, &state, session, csrf, "/dashboard/agents/new")?;
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let team = match pick_team(&state, &signed_in, form.get("account")).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let draft = Draft::from_form(&form);
    let now = Utc::now();
    let mut problems = Problems::default();
    let (status, spec) = check_draft(&state, &team, &draft, now, &mut problems).await?;
    let Some(spec) = spec.filter(|_| !problems.any()) else {
        let chatbots = chatbots_of(&state, &team.account.id).await?;
        return Ok(html(status, form_page(&signed_in, &team, &chatbots, &draft, &problems)));
    };
    if !first_use(&state, &draft.once, now).await? {
        return Ok(already_done(&signed_in, &team));
    }
    let user_id = &signed_in.session.user.id;
    let (record, plain) = issue::issue(
        state.store.as_ref(),
        &team.account.id,
        user_id,
        spec,
        CreatedVia::Dashboard,
        now,
        &signed_in.actor(),
    )
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let chatbots = chatbots_of(&state, &team.account.id).await?;
    Ok(secret_page(shown_once(&signed_in, &team, &record, plain, &chatbots, "Token created")))
}

/// Validates a draft as the API validates a request, then applies the
/// issuance rule and checks the chatbots; returns the status to answer
/// with when something is wrong.
async fn check_draft(
    state: &AppState,
    team: &Team,
    draft: &Draft,
    now: DateTime<Utc>,
    problems: &mut Problems,
) -> Result<(StatusCode, Option<issue::TokenSpec>), WebError> {
    let scopes = match (draft.access.as_str(), level_scopes(&draft.access)) {
        (_, Some(level)) => level.to_vec().iter().map(|s| s.as_str().to_owned()).collect(),
        ("custom", None) => draft.scopes.clone(),
        _ => {
            problems.form = Some("Choose Standard, Full or Custom access.".into());
            Vec::new()
        }
    };
    let (expires_in_days, expires_at) = match draft.expiry.as_str() {
        "date" => match NaiveDate::parse_from_str(draft.date.trim(), "%Y-%m-%d") {
            Ok(day) => (None, day.and_hms_opt(0, 0, 0).map(|t| t.and_utc())),
            Err(_) => {
                problems.expiry = Some("Enter the expiry date as YYYY-MM-DD.".into());
                (None, None)
            }
        },
        _ => match draft.days.trim().parse::<i64>() {
            Ok(days) => (Some(days), None),
            Err(_) => {
                problems.expiry = Some("Enter a number of days from 1 to 365.".into());
                (None, None)
            }
        },
    };
    let request = CreateTokenRequest {
        name: draft.name.clone(),
        scopes,
        chatbot_ids: (!draft.chatbots.is_empty()).then(|| draft.chatbots.clone()),
        expires_in_days,
        expires_at,
        allowed_ips: {
            let ranges: Vec<String> = draft
                .allowed_ips
                .split([',', ' ', '\n', '\r', '\t'])
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            (!ranges.is_empty()).then_some(ranges)
        },
    };
    let spec = match issue::validate(request, now) {
        Ok(spec) => spec,
        Err(e) => {
            problems.file_api_error(e)?;
            return Ok((StatusCode::BAD_REQUEST, None));
        }
    };
    if problems.any() {
        return Ok((StatusCode::BAD_REQUEST, None));
    }
    let issuer = Issuer { role: team.role, via_token: None };
    if let Err(denied) = check_issuance(&issuer, spec.scopes, &spec.chatbots, spec.expires_at) {
        problems.form = Some(format!("{} Your role in {} is {}.", denied.message(), team.account.name, team.role));
        return Ok((StatusCode::FORBIDDEN, None));
    }
    if let Err(e) = issue::check_chatbots_exist(state.store.as_ref(), &team.account.id, &spec.chatbots).await {
        problems.file_api_error(e)?;
        return Ok((StatusCode::BAD_REQUEST, None));
    }
    Ok((StatusCode::OK, Some(spec)))
}

async fn first_use(state: &AppState, once: &str, now: DateTime<Utc>) -> Result<bool, WebError> {
    if once.len() < 32 {
        return Err(WebError::BadRequest("Send this form from its page.".into()));
    }
    Ok(state.store.first_use(hash_secret(&format!("form-once:{once}")), now, ONCE_WINDOW).await?)
}

/// The answer to a form posted a second time (a reload): no secret.
fn already_done(signed_in: &SignedIn, team: &Team) -> Response {
    let body = html! {
        section.card {
            h1 { "This form was already sent" }
            p { "The token's secret was shown once, when the form was first sent, and cannot be shown again. "
                "If you did not copy it, rotate the token to get a new secret, or revoke it." }
            div.actions.single { a.button.primary href=(team.link("/dashboard/agents")) { "Back to Agents" } }
        }
    };
    html(StatusCode::CONFLICT, page("Already sent", Some(signed_in.viewer().at("/dashboard/agents")), body))
}

fn form_page(signed_in: &SignedIn, team: &Team, chatbots: &[Chatbot], draft: &Draft, problems: &Problems) -> Markup {
    let ceiling = team.role.ceiling();
    let ticked = |scope: Scope| draft.scopes.iter().any(|s| s == scope.as_str());
    let body = html! {
        section.card.wide.create-token {
            p.back { a href=(team.link("/dashboard/agents")) { "← Agents" } }
            h1 { "Create token" }
            p.lead {
                "For a script, the " code { "sitegpt" } " CLI or an AI agent, acting as you in " strong { (team.account.name) }
                ". Your role there is " strong { (team.role) } ": a token can never do more than your role allows."
            }
            (alert(problems.form.as_deref()))
            form method="post" action="/dashboard/agents" novalidate {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="once" value=(draft.once);
                input type="hidden" name="account" value=(team.account.id);
                div.field {
                    label for="field-name" { "Name" }
                    input id="field-name" name="name" type="text" value=(draft.name) maxlength=(NAME_MAX) required
                        autocomplete="off" placeholder="Knowledge updater"
                        aria-invalid=[problems.name.as_ref().map(|_| "true")] aria-describedby="field-name-hint";
                    p.hint id="field-name-hint" { "So you can tell your tokens apart, e.g. the agent or machine that uses it." }
                    @if let Some(e) = &problems.name { p.error role="alert" { (e) } }
                }
                fieldset.access {
                    legend { "Access" }
                    div.levels {
                        @for (value, label, what) in LEVELS {
                            @let fits = level_scopes(value).is_none_or(|s| s.is_subset(ceiling));
                            label.level.disabled[!fits] {
                                input type="radio" name="access" value=(value) id={ "access-" (value) }
                                    checked[draft.access == value] disabled[!fits];
                                span.title { (label) }
                                span.what {
                                    (what)
                                    @if !fits { " Your role (" (team.role) ") cannot grant this; choose Custom." }
                                }
                            }
                        }
                    }
                }
                fieldset.scopes-table {
                    legend { "Scopes for Custom access" }
                    p.hint { "Ticked scopes are used only with Custom access. Greyed-out ones are beyond your role." }
                    div.table-wrap {
                        table.scope-grid {
                            thead { tr { th scope="col" { "Resource" } th scope="col" { "Read" } th scope="col" { "Write" } th scope="col" { "Delete" } } }
                            tbody {
                                @for resource in ScopeResource::ALL {
                                    tr {
                                        th scope="row" { (resource.label()) }
                                        @for action in ["read", "write", "delete"] {
                                            td {
                                                @match Scope::ALL.iter().find(|s| s.resource() == resource && s.action().key() == action) {
                                                    Some(scope) => {
                                                        @let allowed = ceiling.contains(*scope);
                                                        label.scope title=[(!allowed).then(|| format!("Your role ({}) cannot grant {scope}", team.role))] {
                                                            input type="checkbox" name="scope" value=(scope) checked[allowed && ticked(*scope)] disabled[!allowed];
                                                            code { (scope) }
                                                        }
                                                    }
                                                    None => { span.none aria-label="not available" { "–" } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.select-all hidden {
                        button.small type="button" data-select="all" { "Select all I may grant" }
                        button.small type="button" data-select="read" { "Read only" }
                        button.small type="button" data-select="none" { "Clear" }
                    }
                    @if let Some(e) = &problems.scopes { p.error role="alert" { (e) } }
                }
                fieldset.chatbots {
                    legend { "Chatbots" }
                    @if chatbots.is_empty() {
                        p.hint { "This team has no chatbots yet; the token will reach every chatbot made later." }
                    } @else {
                        p.hint { "Tick chatbots to restrict the token to them. Tick none for every chatbot, including ones made later." }
                        ul.checks {
                            @for bot in chatbots {
                                li { label { input type="checkbox" name="chatbot" value=(bot.id) checked[draft.chatbots.contains(&bot.id)]; (bot.name) span.hint { (bot.id) } } }
                            }
                        }
                    }
                    @if let Some(e) = &problems.chatbots { p.error role="alert" { (e) } }
                }
                fieldset.expiry {
                    legend { "Expires" }
                    div.expiry-choice {
                        label.inline {
                            input type="radio" name="expiry" value="days" checked[draft.expiry != "date"];
                            "In "
                            input.days type="number" name="days" min="1" max="365" value=(draft.days) aria-label="Days until the token expires";
                            " days"
                        }
                        label.inline {
                            input type="radio" name="expiry" value="date" checked[draft.expiry == "date"];
                            "On "
                            input type="date" name="date" value=(draft.date) aria-label="Expiry date";
                        }
                    }
                    p.hint { "1 to 365 days; 90 by default. A date means 00:00 UTC on that day." }
                    @if let Some(e) = &problems.expiry { p.error role="alert" { (e) } }
                }
                div.field {
                    label for="allowed-ips" { "Allowed addresses " span.muted { "(optional)" } }
                    input #allowed-ips type="text" name="allowed_ips" value=(draft.allowed_ips) autocomplete="off"
                        spellcheck="false" placeholder="203.0.113.0/24, 2001:db8::/48"
                        aria-describedby="allowed-ips-hint" aria-invalid=[problems.allowed_ips.as_ref().map(|_| "true")];
                    p.hint #allowed-ips-hint { "IPv4 or IPv6 addresses or CIDR blocks, up to 20. Requests from anywhere else get 403. Empty: anywhere." }
                    @if let Some(e) = &problems.allowed_ips { p.error role="alert" { (e) } }
                }
                div.actions.single { button.primary type="submit" { "Create token" } }
            }
        }
    };
    page("Create token", Some(signed_in.viewer().at("/dashboard/agents")), body)
}

/// The secret, shown once, with a copy button and what the token can do.
fn shown_once(
    signed_in: &SignedIn,
    team: &Team,
    record: &TokenRecord,
    plain: PlainToken,
    chatbots: &[Chatbot],
    title: &str,
) -> Markup {
    let list = team.link("/dashboard/agents");
    let secret = plain.expose();
    let body = html! {
        section.card.wide.secret data-forget=(list) {
            h1 { (title) }
            div.warning role="alert" {
                strong { "Copy this token now. " }
                "SiteGPT stores only a hash of it and cannot show it again. Treat it like a password."
            }
            div.field {
                label for="plaintext" { "Token for " (record.name) }
                div.copy-row {
                    input #plaintext.secret-value type="text" readonly value=(secret) autocomplete="off" spellcheck="false";
                    button.copy type="button" data-copy="plaintext" hidden { "Copy" }
                }
                p.hint { "Use it as " code { "Authorization: Bearer <token>" } ", or run " code { "sitegpt login --token <token>" } "." }
            }
            dl.facts {
                dt { "Access" } dd { (describe_access(record)) }
                dt { "Chatbots" } dd {
                    @if record.chatbots.is_restricted() { "Only " }
                    (super::layout::chatbot_names(record, chatbots.iter().map(|b| (b.id.as_str(), b.name.as_str()))))
                }
                dt { "Expires" } dd { (record.expires_at.format("%Y-%m-%d %H:%M UTC")) }
            }
            div.actions.single { a.button.primary href=(list) { "Done, I copied it" } }
        }
    };
    page(title, Some(signed_in.viewer().at("/dashboard/agents")), body)
}

/// What a person may do with a token they can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Rotate,
    Revoke,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        match s {
            "rotate" => Some(Action::Rotate),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }
}

/// The token `id` with the person's team for it, if they may see it: their
/// own, or any token of a team they manage (which they may revoke).
pub(super) async fn visible(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
) -> Result<Option<(TokenRecord, Team)>, WebError> {
    load(state, signed_in, id, Action::Revoke).await
}

/// The token `id` with the person's team for it, if they may act on it:
/// their own token, or (to revoke) any token of a team they manage.
async fn load(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    action: Action,
) -> Result<Option<(TokenRecord, Team)>, WebError> {
    let record = if sitegpt_access::id::is_plausible_id(id) { state.store.token(id).await? } else { None };
    let Some(record) = record else { return Ok(None) };
    let Ok(team) = pick_team(state, signed_in, Some(&record.account_id)).await? else { return Ok(None) };
    let own = record.user_id == signed_in.session.user.id;
    let allowed = own || (action == Action::Revoke && team.role.manages_account());
    Ok(allowed.then_some((record, team)))
}

/// `GET /dashboard/agents/{id}/{rotate|revoke}`: the confirmation page.
pub async fn confirm(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let Some(action) = Action::parse(&action) else { return Err(WebError::NotFound) };
    let Some(signed_in) = session else {
        return Ok(sign_in_first(&format!(
            "/dashboard/agents/{id}/{}",
            if action == Action::Rotate { "rotate" } else { "revoke" }
        )));
    };
    let Some((record, team)) = load(&state, &signed_in, &id, action).await? else { return Err(WebError::NotFound) };
    if let Some(page) = already_revoked(&signed_in, &team, &record, action) {
        return Ok(page);
    }
    Ok(html(StatusCode::OK, confirm_page(&signed_in, &team, &record, action, None)))
}

/// The answer to rotating or revoking a token that is already revoked.
fn already_revoked(signed_in: &SignedIn, team: &Team, record: &TokenRecord, action: Action) -> Option<Response> {
    let at = record.revoked_at?;
    let refusal = match action {
        Action::Rotate => " A revoked token cannot be rotated.",
        Action::Revoke => "",
    };
    let body = html! {
        section.card {
            h1 { "Already revoked" }
            p { "“" (record.name) "” was revoked on " (at.format("%Y-%m-%d at %H:%M UTC")) " and stays revoked." (refusal)
                " Nothing was changed. To give a script or agent access again, create a new token." }
            div.actions {
                a.button.secondary href=(team.link(&format!("/dashboard/agents/{}", record.id))) { "View the token" }
                a.button.primary href=(team.link("/dashboard/agents/new")) { "Create token" }
            }
        }
    };
    Some(html(StatusCode::CONFLICT, page("Already revoked", Some(signed_in.viewer().at("/dashboard/agents")), body)))
}

fn confirm_page(
    signed_in: &SignedIn,
    team: &Team,
    record: &TokenRecord,
    action: Action,
    error: Option<&str>,
) -> Markup {
    let (title, button, consequence) = match action {
        Action::Rotate => (
            "Rotate this token?",
            "Rotate token",
            "Its current secret stops working immediately. You get a new secret, shown once, with the same scopes, \
             chatbots and lifetime. Update every script and agent that uses it.",
        ),
        Action::Revoke => (
            "Revoke this token?",
            "Revoke token",
            "It stops working immediately, everywhere, and cannot be turned back on. Scripts and agents that use it \
             will get 401 TOKEN_REVOKED.",
        ),
    };
    let path =
        format!("/dashboard/agents/{}/{}", record.id, if action == Action::Rotate { "rotate" } else { "revoke" });
    let body = html! {
        section.card {
            h1 { (title) }
            (alert(error))
            dl.facts {
                dt { "Name" } dd { (record.name) " " span.hint { "···" (record.hint) } }
                dt { "Access" } dd { (describe_access(record)) }
                dt { "Last used" } dd { @match record.last_used_at { Some(at) => (at.format("%Y-%m-%d")), None => "Never" } }
            }
            p { (consequence) }
            form method="post" action=(path) {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="once" value=(random_secret());
                div.actions {
                    a.button.secondary href=(team.link("/dashboard/agents")) { "Cancel" }
                    @if action == Action::Revoke { button.danger.solid type="submit" { (button) } }
                    @else { button.primary type="submit" { (button) } }
                }
            }
        }
    };
    page(title, Some(signed_in.viewer().at("/dashboard/agents")), body)
}

/// `POST /dashboard/agents/{id}/{rotate|revoke}`.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path((id, action)): Path<(String, String)>,
    form: FormPairs,
) -> Result<Response, WebError> {
    let Some(action) = Action::parse(&action) else { return Err(WebError::NotFound) };
    let signed_in =
        signed_in_post(&headers, &state, session, form.get("csrf").unwrap_or_default(), "/dashboard/agents")?;
    let Some((record, team)) = load(&state, &signed_in, &id, action).await? else { return Err(WebError::NotFound) };
    if let Some(page) = already_revoked(&signed_in, &team, &record, action) {
        return Ok(page);
    }
    let now = Utc::now();
    match action {
        Action::Revoke => {
            state.store.revoke_token(&record.id, now, &signed_in.actor()).await?;
            tracing::info!(token_id = %record.id, by_user = %signed_in.session.user.id, "token revoked");
            Ok(redirect(&team.link("/dashboard/agents?done=revoked")))
        }
        Action::Rotate => {
            if let Some(page) = unverified_page(&signed_in) {
                return Ok(page);
            }
            let issuer = Issuer { role: team.role, via_token: None };
            if let Err(refused) = issue::check_rotation(&record, &issuer) {
                let (status, message) = match refused {
                    ApiError::Conflict(message) => (StatusCode::CONFLICT, message),
                    ApiError::Forbidden { message, .. } => (
                        StatusCode::FORBIDDEN,
                        format!(
                            "{message} Your role in {} is now {}; create a new token within it instead.",
                            team.account.name, team.role
                        ),
                    ),
                    other => return Err(WebError::Internal(other.to_string())),
                };
                return Ok(html(status, confirm_page(&signed_in, &team, &record, action, Some(&message))));
            }
            if !first_use(&state, form.get("once").unwrap_or_default(), now).await? {
                return Ok(already_done(&signed_in, &team));
            }
            let (rotated, plain) = issue::rotate(state.store.as_ref(), &record, &issuer, now, &signed_in.actor())
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let chatbots = chatbots_of(&state, &team.account.id).await?;
            Ok(secret_page(shown_once(&signed_in, &team, &rotated, plain, &chatbots, "Token rotated")))
        }
    }
}
