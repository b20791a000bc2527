//! Account settings (`/dashboard/settings`): rename the team (under the
//! API's rule for `PATCH /api/v2/account`: owners and admins), change the
//! password (the current one first; other sessions end), and sign out of
//! every other session.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use sitegpt_access::{RouteRule, Scope, Target};
use sitegpt_store::password::{PASSWORD_MIN, check_password, hash_password, verify_password};

use super::layout::{Field, field, page};
use super::{
    MaybeSession, SignedIn, Team, WebError, WebForm, decide_for_person, html, pick_team, redirect, require_sign_in,
    signed_in_post,
};
use crate::issue::check_name;
use crate::ratelimit::PASSWORD_CHANGE;
use crate::state::AppState;

const HERE: &str = "/dashboard/settings";

/// What to show again after a refused form.
#[derive(Debug, Default)]
struct Problems<'a> {
    team_name: Option<&'a str>,
    team: Option<String>,
    current: Option<String>,
    password: Option<String>,
}

fn rename_rule() -> RouteRule {
    RouteRule::exempt(Scope::AccountWrite)
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<super::TeamPageParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, HERE)?;
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let notice = match params.done.as_deref() {
        Some("renamed") => Some("Team renamed.".to_owned()),
        Some("password") => Some("Password changed. Every other device was signed out.".to_owned()),
        Some("notices-on") => Some("You will get a mail a week and a day before a token expires.".to_owned()),
        Some("notices-off") => Some("Expiry warnings are off.".to_owned()),
        Some(n) if n.starts_with("sessions-") => {
            let n = n.trim_start_matches("sessions-");
            Some(match n {
                "0" => "No other sessions were signed in.".to_owned(),
                "1" => "Signed out of 1 other session.".to_owned(),
                n => format!("Signed out of {n} other sessions."),
            })
        }
        _ => None,
    };
    settings_page(&state, &signed_in, &team, StatusCode::OK, notice.as_deref(), Problems::default()).await
}

async fn settings_page(
    state: &AppState,
    signed_in: &SignedIn,
    team: &Team,
    status: StatusCode,
    notice: Option<&str>,
    problems: Problems<'_>,
) -> Result<Response, WebError> {
    let notices = state.store.expiry_notices(&signed_in.session.user.id).await?;
    let can_rename = decide_for_person(signed_in, team, rename_rule(), Target::Account);
    let hint = format!("At least {PASSWORD_MIN} characters.");
    let body = html! {
        section.card.wide.settings {
            h1 { "Settings" }
            p.lead { "Signed in as " strong { (signed_in.session.user.email) } "." }
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            h2 #team-heading { "Team" }
            (team.switcher(HERE))
            @match &can_rename {
                Ok(()) => {
                    form.settings-form method="post" action="/dashboard/settings/team" aria-labelledby="team-heading" {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        input type="hidden" name="account" value=(team.account.id);
                        (field(Field { label: "Team name", name: "name", kind: "text",
                            value: problems.team_name.unwrap_or(&team.account.name), autocomplete: "organization",
                            hint: Some("Shown to members, in invitations and on the consent pages."), error: problems.team.as_deref() }))
                        div.actions.single { button.secondary type="submit" { "Rename team" } }
                    }
                }
                Err(denial) => {
                    dl.facts { dt { "Team name" } dd { (team.account.name) } dt { "Your role" } dd { (team.role) } }
                    p.hint { (denial.message()) " Owners and admins rename the team." }
                }
            }
            h2 #password-heading { "Password" }
            form.settings-form method="post" action="/dashboard/settings/password" aria-labelledby="password-heading" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="account" value=(team.account.id);
                input type="email" name="username" value=(signed_in.session.user.email) autocomplete="username" hidden;
                (field(Field { label: "Current password", name: "current", kind: "password", value: "",
                    autocomplete: "current-password", hint: None, error: problems.current.as_deref() }))
                (field(Field { label: "New password", name: "password", kind: "password", value: "",
                    autocomplete: "new-password", hint: Some(&hint), error: problems.password.as_deref() }))
                div.actions.single { button.secondary type="submit" { "Change password" } }
            }
            p.hint { "Changing it signs you out on every other device. Forgot it? "
                a href="/forgot-password" { "Reset it by e-mail" } "." }
            h2 #notices { "Mail about your tokens" }
            form.settings-form method="post" action="/dashboard/settings/notices" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="account" value=(team.account.id);
                label.inline {
                    input type="checkbox" name="expiry" value="on" checked[notices];
                    "Warn me by e-mail a week and a day before one of my tokens expires"
                }
                p.hint { "Mail about a token added by a device login or an app, and about a leaked token, is always sent." }
                div.actions.single { button.secondary type="submit" { "Save" } }
            }
            h2 #sessions-heading { "Sessions" }
            p { "Signed in on a shared or lost device? End every session but this one." }
            form method="post" action="/dashboard/settings/sessions" aria-labelledby="sessions-heading" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="account" value=(team.account.id);
                div.actions.single { button.danger type="submit" { "Sign out of all other sessions" } }
            }
        }
    };
    Ok(html(status, page("Settings", Some(signed_in.viewer().at(HERE)), body)))
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    csrf: String,
    account: String,
    name: String,
}

/// `POST /dashboard/settings/team`.
pub async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<RenameForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, HERE)?;
    let team = match pick_team(&state, &signed_in, Some(&form.account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    if let Err(denial) = decide_for_person(&signed_in, &team, rename_rule(), Target::Account) {
        let problems = Problems { team: Some(denial.message()), ..Problems::default() };
        return settings_page(&state, &signed_in, &team, StatusCode::FORBIDDEN, None, problems).await;
    }
    let name = form.name.trim();
    if let Err(why) = check_name(name) {
        let why = super::sentence(&why.replace("name", "the team name"));
        let problems = Problems { team_name: Some(&form.name), team: Some(why), ..Problems::default() };
        return settings_page(&state, &signed_in, &team, StatusCode::BAD_REQUEST, None, problems).await;
    }
    state.store.rename_account(&team.account.id, name).await?;
    tracing::info!(account_id = %team.account.id, by_user = %signed_in.session.user.id, "team renamed");
    Ok(redirect(&team.link(&format!("{HERE}?done=renamed"))))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: String,
    account: String,
    current: String,
    password: String,
}

/// `POST /dashboard/settings/password`: the current password first; every
/// other session of the person ends with the change.
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<PasswordForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, HERE)?;
    let team = match pick_team(&state, &signed_in, Some(&form.account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let user = &signed_in.session.user;
    let limit = [(PASSWORD_CHANGE, user.id.as_str())];
    if let Some(wait) = state.limits.blocked(&limit).await? {
        return Err(WebError::RateLimited(wait));
    }
    if let Err(why) = check_password(&form.password) {
        let problems = Problems { password: Some(why), ..Problems::default() };
        return settings_page(&state, &signed_in, &team, StatusCode::BAD_REQUEST, None, problems).await;
    }
    let stored = user.password_hash.clone();
    let (current, new) = (form.current.clone(), form.password.clone());
    let hashed =
        tokio::task::spawn_blocking(move || verify_password(Some(&stored), &current).then(|| hash_password(&new)))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
    let Some(password_hash) = hashed else {
        state.limits.fail(&limit).await?;
        tracing::info!(user_id = %user.id, "password change with a wrong current password");
        let problems = Problems { current: Some("That is not your current password.".into()), ..Problems::default() };
        return settings_page(&state, &signed_in, &team, StatusCode::BAD_REQUEST, None, problems).await;
    };
    state.store.set_password(&user.id, &password_hash, Some(signed_in.id_hash), &signed_in.actor()).await?;
    tracing::info!(user_id = %user.id, "password changed; other sessions ended");
    Ok(redirect(&team.link(&format!("{HERE}?done=password"))))
}

#[derive(Debug, Deserialize)]
pub struct SessionsForm {
    csrf: String,
    account: String,
}

/// `POST /dashboard/settings/sessions`: ends every session but this one.
pub async fn end_other_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<SessionsForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, HERE)?;
    let team = match pick_team(&state, &signed_in, Some(&form.account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let ended = state.store.end_other_sessions(&signed_in.session.user.id, Some(signed_in.id_hash)).await?;
    tracing::info!(user_id = %signed_in.session.user.id, ended, "other sessions ended");
    Ok(redirect(&team.link(&format!("{HERE}?done=sessions-{ended}"))))
}

#[derive(Debug, Deserialize)]
pub struct NoticesForm {
    csrf: String,
    account: String,
    #[serde(default)]
    expiry: Option<String>,
}

/// `POST /dashboard/settings/notices`: expiry warnings on or off.
pub async fn notices(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<NoticesForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, HERE)?;
    let team = match pick_team(&state, &signed_in, Some(&form.account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let on = form.expiry.as_deref() == Some("on");
    state.store.set_expiry_notices(&signed_in.session.user.id, on).await?;
    let done = if on { "notices-on" } else { "notices-off" };
    Ok(redirect(&team.link(&format!("{HERE}?done={done}"))))
}
