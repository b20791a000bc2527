//! Connected apps (`/dashboard/apps`): every OAuth grant the signed-in
//! person made, and a way to end each. Revoking a grant revokes every token
//! it issued, on every node (through the auth epoch).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use maud::html;
use sitegpt_access::oauth::redirect_host;
use sitegpt_store::StoreError;

use super::auth::CsrfForm;
use super::layout::{message_page, page};
use super::{DoneParams, MaybeSession, WebError, WebForm, html, redirect, require_sign_in, signed_in_post};
use crate::state::AppState;

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<DoneParams>,
) -> Result<Response, WebError> {
    let signed_in = require_sign_in(session, "/dashboard/apps")?;
    let grants = state.store.grants(&signed_in.session.user.id).await?;
    let notice = (params.done.as_deref() == Some("revoked")).then_some("Access revoked. Its tokens no longer work.");
    let body = html! {
        section.card.wide {
            h1 { "Connected apps" }
            p.lead { "Applications and AI clients you allowed to act for you through OAuth. Revoking one ends its access at once." }
            @if let Some(notice) = notice { div.notice role="status" { (notice) } }
            @if grants.is_empty() {
                p { "You have not connected any application." }
            }
            @for grant in &grants {
                article.grant {
                    h2 { (grant.client_name) }
                    dl.facts {
                        dt { "Returns to" } dd { (redirect_host(&grant.redirect_uri)) }
                        dt { "For" } dd { code { (grant.resource.url(&state.public_url)) } }
                        dt { "Access" } dd {
                            ul.scope-list {
                                @for scope in grant.scopes.iter() { li { code { (scope) } } }
                            }
                        }
                        dt { "Chatbots" } dd {
                            @if grant.chatbots.is_restricted() {
                                @for (i, id) in grant.chatbots.ids().iter().enumerate() { @if i > 0 { ", " } code { (id) } }
                            } @else { "All chatbots you can access" }
                        }
                        dt { "Connected" } dd { (grant.created_at.format("%Y-%m-%d %H:%M UTC")) }
                        dt { "Last used" } dd { (grant.last_used_at.format("%Y-%m-%d %H:%M UTC")) }
                    }
                    form method="post" action={ "/dashboard/apps/" (grant.id) "/revoke" } {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        div.actions.single { button.danger type="submit" { "Revoke " (grant.client_name) } }
                    }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, page("Connected apps", Some(signed_in.viewer().at("/dashboard/apps")), body)))
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/dashboard/apps")?;
    let user_id = &signed_in.session.user.id;
    match state.store.revoke_grant(&id, Some(user_id), Utc::now(), &signed_in.actor()).await {
        Ok(()) => {
            tracing::info!(grant_id = %id, %user_id, "grant revoked on Connected apps");
            Ok(redirect("/dashboard/apps?done=revoked"))
        }
        Err(StoreError::NotFound) => Ok(html(
            StatusCode::NOT_FOUND,
            message_page("No such app", "That connection does not exist or is not yours.", Some(signed_in.viewer())),
        )),
        Err(e) => Err(e.into()),
    }
}
