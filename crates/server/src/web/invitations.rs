//! The invited person's side of an invitation (`/invitations`): the
//! pending invitations to the signed-in person's address, each accepted or
//! declined by them. Only a verified address may accept, so nobody joins a
//! team with an address they have not proven.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::html;

use super::auth::CsrfForm;
use super::layout::{message_page, page};
use super::{DoneParams, MaybeSession, SignedIn, WebError, WebForm, html, redirect, require_sign_in, signed_in_post};
use crate::state::AppState;

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<DoneParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/invitations")?;
    let user = &signed_in.session.user;
    let invitations = state.store.invitations_to(&user.email, Utc::now()).await?;
    let verified = user.email_verified_at.is_some();
    let notice = (params.done.as_deref() == Some("declined")).then_some("Invitation declined.");
    let body = html! {
        section.card.wide {
            h1 { "Invitations" }
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            @if !verified && !invitations.is_empty() {
                div.alert role="status" {
                    "Verify " (user.email) " to accept an invitation: open the link we sent you."
                    form.resend method="post" action="/verify-email/resend" {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        button.link type="submit" { "Send a new link" }
                    }
                }
            }
            @if invitations.is_empty() {
                p { "No team has invited " (user.email) " right now." }
            }
            @for (invitation, team) in &invitations {
                article.invitation {
                    h2 { (team) }
                    p { "You are invited to join as " strong { (invitation.role.as_str()) } ". "
                        span.muted { "Open until " (invitation.expires_at.format("%Y-%m-%d")) "." } }
                    div.actions {
                        form method="post" action={ "/invitations/" (invitation.id) "/accept" } {
                            input type="hidden" name="csrf" value=(signed_in.csrf());
                            button.primary type="submit" disabled[!verified] { "Accept and join " (team) }
                        }
                        form method="post" action={ "/invitations/" (invitation.id) "/decline" } {
                            input type="hidden" name="csrf" value=(signed_in.csrf());
                            button.secondary type="submit" { "Decline" }
                        }
                    }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, page("Invitations", Some(signed_in.viewer()), body)))
}

fn no_longer_open(signed_in: &SignedIn) -> Response {
    html(
        StatusCode::NOT_FOUND,
        message_page(
            "This invitation is not open",
            "It was withdrawn, has expired, was already answered, or is for another address.",
            Some(signed_in.viewer()),
        ),
    )
}

pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/invitations")?;
    let user = &signed_in.session.user;
    if user.email_verified_at.is_none() {
        return Ok(html(
            StatusCode::FORBIDDEN,
            message_page(
                "Verify your e-mail first",
                &format!("Open the link we sent to {} to accept invitations to it.", user.email),
                Some(signed_in.viewer()),
            ),
        ));
    }
    let joined = state.store.accept_invitations(&user.email, &user.id, Some(&id), Utc::now()).await?;
    let Some(account_id) = joined.first() else { return Ok(no_longer_open(&signed_in)) };
    tracing::info!(user_id = %user.id, account_id, "invitation accepted");
    Ok(redirect(&format!("/dashboard/members?account={account_id}&done=joined")))
}

pub async fn decline(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/invitations")?;
    match state.store.decline_invitation(&signed_in.session.user.email, &id).await {
        Ok(()) => Ok(redirect("/invitations?done=declined")),
        Err(sitegpt_store::StoreError::NotFound) => Ok(no_longer_open(&signed_in)),
        Err(e) => Err(e.into()),
    }
}
