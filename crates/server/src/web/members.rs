//! The Members page (`/dashboard/members`): everyone in a team sees who is
//! in it; owners and admins invite people by e-mail, change roles and
//! remove members, under the same owner rules as the API (only owners make
//! or unmake owners; a team always keeps one) and with the API's messages.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_access::{Role, SubscriptionStatus};
use sitegpt_store::MemberRecord;

use super::layout::{alert, page};
use super::{
    MaybeSession, SignedIn, Team, TeamForm, TeamParams, WebError, WebForm, html, pick_team, redirect, unverified_page,
};
use super::{require_sign_in, signed_in_post};
use crate::error::ApiError;
use crate::routes::team::{self, Actor};
use crate::state::AppState;

/// What each role may do, in a sentence.
fn role_summary(role: Role) -> &'static str {
    match role {
        Role::Owner => "Everything, including billing and making other owners.",
        Role::Admin => "Everything but changing billing; manages members and every token.",
        Role::Member => "Reads the team's data and edits chatbot content.",
        Role::Viewer => "Reads the team's data (not billing).",
    }
}

/// The invite form as typed, with its error.
#[derive(Debug, Default)]
struct Invite<'a> {
    email: &'a str,
    role: Option<Role>,
    error: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<super::TeamPageParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/members")?;
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    let notice = match params.done.as_deref() {
        Some("invited") => Some("Invitation sent. They join when they accept it."),
        Some("joined") => Some("You joined the team."),
        Some("role") => Some("Role changed. It applies to their tokens at once."),
        Some("removed") => Some("Member removed, and their tokens in this team revoked."),
        Some("withdrawn") => Some("Invitation withdrawn. The link in it no longer joins this team."),
        _ => None,
    };
    members_page(&state, &signed_in, &team, StatusCode::OK, notice, None, Invite::default()).await
}

async fn members_page(
    state: &AppState,
    signed_in: &SignedIn,
    team: &Team,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    invite: Invite<'_>,
) -> Result<Response, WebError> {
    let members = state.store.members(&team.account.id).await?;
    let manager = team.role.manages_account();
    let invitations =
        if manager { state.store.pending_invitations(&team.account.id, chrono::Utc::now()).await? } else { Vec::new() };
    let me = &signed_in.session.user.id;
    let sole_owner = members.iter().filter(|m| m.role == Role::Owner).count() == 1 && team.role == Role::Owner;
    let blocked = why_not_manage(signed_in, team).map(|(_, why)| why);
    let grantable: Vec<Role> =
        Role::ALL.into_iter().filter(|r| *r != Role::Owner || team.role == Role::Owner).collect();
    let body = html! {
        section.card.wide.members {
            h1 { "Members" }
            p.lead { "People in " strong { (team.account.name) } ". Your role is " strong { (team.role) } "." }
            (team.switcher("/dashboard/members"))
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            (alert(error))
            @if manager {
                @if let Some(why) = blocked { div.alert role="status" { (why) } }
                form.invite method="post" action="/dashboard/members" {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    input type="hidden" name="account" value=(team.account.id);
                    div.invite-row {
                        div.field {
                            label for="invite-email" { "Email" }
                            input #invite-email type="email" name="email" value=(invite.email) autocomplete="off" required
                                placeholder="name@example.com" aria-invalid=[invite.error.as_ref().map(|_| "true")];
                        }
                        div.field {
                            label for="invite-role" { "Role" }
                            select #invite-role name="role" {
                                @for role in &grantable {
                                    option value=(role) selected[invite.role.unwrap_or(Role::Member) == *role] { (capitalized(*role)) }
                                }
                            }
                        }
                        div.field.submit { button.primary type="submit" disabled[blocked.is_some()] { "Invite member" } }
                    }
                    @if let Some(e) = &invite.error { p.error role="alert" { (e) } }
                }
            }
            div.table-wrap {
                table.tokens.people {
                    thead { tr {
                        th scope="col" { "Member" }
                        th scope="col" { "Role" }
                        th scope="col" { "Joined" }
                        @if manager { th scope="col" { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for m in &members {
                            (member_row(signed_in, team, m, m.user.id == *me, &grantable, blocked.is_some(), sole_owner))
                        }
                    }
                }
            }
            @if !invitations.is_empty() {
                h2 { "Pending invitations" }
                div.table-wrap {
                    table.tokens.people {
                        thead { tr {
                            th scope="col" { "Email" }
                            th scope="col" { "Role" }
                            th scope="col" { "Expires" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        } }
                        tbody {
                            @for invitation in &invitations {
                                tr {
                                    th scope="row" { (invitation.email) }
                                    td data-label="Role" { (capitalized(invitation.role)) }
                                    td.date data-label="Expires" { (invitation.expires_at.format("%Y-%m-%d")) }
                                    td.row-actions {
                                        form method="post" action={ "/dashboard/members/invitations/" (invitation.id) "/withdraw" } {
                                            input type="hidden" name="csrf" value=(signed_in.csrf());
                                            input type="hidden" name="account" value=(team.account.id);
                                            button.small type="submit" disabled[blocked.is_some()] aria-label={ "Withdraw the invitation of " (invitation.email) } { "Withdraw" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Roles" }
            dl.facts.roles {
                @for role in Role::ALL { dt { (capitalized(role)) } dd { (role_summary(role)) } }
            }
        }
    };
    Ok(html(status, page("Members", Some(signed_in.viewer().at("/dashboard/members")), body)))
}

fn member_row(
    signed_in: &SignedIn,
    team: &Team,
    m: &MemberRecord,
    is_me: bool,
    grantable: &[Role],
    blocked: bool,
    sole_owner: bool,
) -> Markup {
    let manager = team.role.manages_account();
    // Admins see owners but cannot change them.
    let changeable = manager && (m.role != Role::Owner || team.role == Role::Owner);
    html! {
        tr {
            th scope="row" {
                (m.user.email)
                @if is_me { span.badge.you { "You" } }
                @if m.user.email_verified_at.is_none() { span.badge.warn { "Unverified e-mail" } }
            }
            td data-label="Role" {
                @if changeable {
                    form.role-change method="post" action={ "/dashboard/members/" (m.user.id) "/role" } {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        input type="hidden" name="account" value=(team.account.id);
                        label.visually-hidden for={ "role-" (m.user.id) } { "Role of " (m.user.email) }
                        select id={ "role-" (m.user.id) } name="role" {
                            @for role in grantable {
                                option value=(role) selected[m.role == *role] { (capitalized(*role)) }
                            }
                        }
                        button.small type="submit" disabled[blocked] { "Change role" }
                    }
                } @else {
                    span title=[(manager && !changeable).then_some("Only owners can change owners")] { (capitalized(m.role)) }
                }
            }
            td.date data-label="Joined" { (m.joined_at.format("%Y-%m-%d")) }
            @if manager {
                td.row-actions {
                    @if is_me && sole_owner {
                        span.why { "You are the only owner: make another member an owner before you leave." }
                    } @else if changeable && !blocked {
                        a.danger href=(team.link(&format!("/dashboard/members/{}/remove", m.user.id))) aria-label={ "Remove " (m.user.email) } {
                            @if is_me { "Leave" } @else { "Remove" }
                        }
                    }
                }
            }
        }
    }
}

fn capitalized(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
        Role::Viewer => "Viewer",
    }
}

/// Why this person cannot change members now, if they cannot, with the
/// status the API gives for it (`members:write`: role, verified e-mail,
/// active subscription).
fn why_not_manage(signed_in: &SignedIn, team: &Team) -> Option<(StatusCode, &'static str)> {
    if !team.role.manages_account() {
        Some((StatusCode::FORBIDDEN, "Only owners and admins can change members."))
    } else if signed_in.session.user.email_verified_at.is_none() {
        Some((StatusCode::FORBIDDEN, "Verify your e-mail address to change members."))
    } else if team.account.subscription != SubscriptionStatus::Active {
        Some((StatusCode::PAYMENT_REQUIRED, "An active team subscription is required."))
    } else {
        None
    }
}

fn actor<'a>(signed_in: &'a SignedIn, team: &'a Team) -> Actor<'a> {
    Actor {
        account_id: &team.account.id,
        account_name: &team.account.name,
        user_id: &signed_in.session.user.id,
        user_email: &signed_in.session.user.email,
        role: team.role,
        token_id: None,
    }
}

/// The status and message a page shows for a refusal of the API's rules.
fn refusal(e: ApiError) -> Result<(StatusCode, String), WebError> {
    let status = match &e {
        ApiError::Validation(_) => StatusCode::BAD_REQUEST,
        ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::Internal(cause) => return Err(WebError::Internal(cause.clone())),
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match e {
        ApiError::Validation(errors) => {
            errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ").replacen("email", "Email", 1) + "."
        }
        other => other.to_string(),
    };
    Ok((status, message))
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf: String,
    account: String,
    email: String,
    role: String,
}

/// Checks the post and picks the team; a page to answer with instead.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<SignedIn>,
    csrf: &str,
    account: &str,
) -> Result<Result<(SignedIn, Team), Response>, WebError> {
    let signed_in = signed_in_post(headers, state, session, csrf, "/dashboard/members")?;
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(Err(page));
    }
    let team = match pick_team(state, &signed_in, Some(account)).await? {
        Ok(team) => team,
        Err(page) => return Ok(Err(page)),
    };
    if let Some((status, why)) = why_not_manage(&signed_in, &team) {
        let page = members_page(state, &signed_in, &team, status, None, Some(why), Invite::default()).await?;
        return Ok(Err(page));
    }
    Ok(Ok((signed_in, team)))
}

fn parse_role(s: &str) -> Result<Role, WebError> {
    s.parse().map_err(|_| WebError::BadRequest("Choose one of the roles: owner, admin, member or viewer.".into()))
}

/// `POST /dashboard/members`: invites the address.
pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<InviteForm>,
) -> Result<Response, WebError> {
    let (signed_in, team) = match begin(&state, &headers, session, &form.csrf, &form.account).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    let role = parse_role(&form.role)?;
    match team::invite_by_email(&state, actor(&signed_in, &team), &form.email, role).await {
        Ok(_) => Ok(redirect(&team.link("/dashboard/members?done=invited"))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            let invite = Invite { email: &form.email, role: Some(role), error: Some(message) };
            members_page(&state, &signed_in, &team, status, None, None, invite).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf: String,
    account: String,
    role: String,
}

/// `POST /dashboard/members/{userId}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(user_id): Path<String>,
    WebForm(form): WebForm<RoleForm>,
) -> Result<Response, WebError> {
    let (signed_in, team) = match begin(&state, &headers, session, &form.csrf, &form.account).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    let role = parse_role(&form.role)?;
    let member = team::find_member(&state, &team.account.id, &user_id).await.map_err(internal)?;
    let Some(member) = member else { return Err(WebError::NotFound) };
    match team::change_role(&state, actor(&signed_in, &team), &member, role).await {
        Ok(_) => Ok(redirect(&team.link("/dashboard/members?done=role"))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            members_page(&state, &signed_in, &team, status, None, Some(&message), Invite::default()).await
        }
    }
}

fn internal(e: ApiError) -> WebError {
    WebError::Internal(e.to_string())
}

/// `GET /dashboard/members/{userId}/remove`: the confirmation page.
pub async fn confirm_remove(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(user_id): Path<String>,
    Query(params): Query<TeamParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/members")?;
    let team = match pick_team(&state, &signed_in, params.account.as_deref()).await? {
        Ok(team) => team,
        Err(page) => return Ok(page),
    };
    if !team.role.manages_account() {
        return Err(WebError::NotFound);
    }
    let member = team::find_member(&state, &team.account.id, &user_id).await.map_err(internal)?;
    let Some(member) = member else { return Err(WebError::NotFound) };
    let leaving = member.user.id == signed_in.session.user.id;
    let title = if leaving { "Leave this team?" } else { "Remove this member?" };
    let body = html! {
        section.card {
            h1 { (title) }
            dl.facts {
                dt { "Member" } dd { (member.user.email) }
                dt { "Role" } dd { (capitalized(member.role)) }
                dt { "Team" } dd { (team.account.name) }
            }
            p {
                @if leaving { "You lose access to " (team.account.name) " at once, and your tokens in it are revoked." }
                @else { "They lose access at once, and every token they made in this team is revoked. You can invite them again later." }
            }
            form method="post" action={ "/dashboard/members/" (member.user.id) "/remove" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                input type="hidden" name="account" value=(team.account.id);
                div.actions {
                    a.button.secondary href=(team.link("/dashboard/members")) { "Cancel" }
                    button.danger.solid type="submit" { @if leaving { "Leave team" } @else { "Remove member" } }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, page(title, Some(signed_in.viewer().at("/dashboard/members")), body)))
}

/// `POST /dashboard/members/{userId}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(user_id): Path<String>,
    WebForm(form): WebForm<TeamForm>,
) -> Result<Response, WebError> {
    let (signed_in, team) = match begin(&state, &headers, session, &form.csrf, &form.account).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    let member = team::find_member(&state, &team.account.id, &user_id).await.map_err(internal)?;
    let Some(member) = member else { return Err(WebError::NotFound) };
    match team::remove(&state, actor(&signed_in, &team), &member).await {
        Ok(()) if member.user.id == signed_in.session.user.id => Ok(redirect("/")),
        Ok(()) => Ok(redirect(&team.link("/dashboard/members?done=removed"))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            members_page(&state, &signed_in, &team, status, None, Some(&message), Invite::default()).await
        }
    }
}

/// `POST /dashboard/members/invitations/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(invitation_id): Path<String>,
    WebForm(form): WebForm<TeamForm>,
) -> Result<Response, WebError> {
    let (signed_in, team) = match begin(&state, &headers, session, &form.csrf, &form.account).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    match state.store.cancel_invitation(&team.account.id, &invitation_id).await {
        Ok(()) => {}
        Err(sitegpt_store::StoreError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(invitation_id = %invitation_id, by_user = %signed_in.session.user.id, "invitation withdrawn");
    Ok(redirect(&team.link("/dashboard/members?done=withdrawn")))
}
