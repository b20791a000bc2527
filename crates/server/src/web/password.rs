//! Forgotten passwords: a person asks for a link by e-mail address and gets
//! the same answer whether or not the address has an account; the mail
//! carries a single-use link valid for an hour (only its hash is stored, made
//! when the mail is sent); using it sets a new password and ends every
//! session of that user.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_access::email::normalize_email;
use sitegpt_store::password::{PASSWORD_MIN, check_password, hash_password};
use sitegpt_store::{MailLink, OutgoingMail, StoreError};

use super::auth::{anonymous_csrf, check_anonymous_csrf, with_csrf_cookie};
use super::layout::{Field, field, message_page, page};
use super::{ClientAddr, SESSION_COOKIE, WebError, WebForm, hash_secret, html, set_cookie};
use crate::mail::RESET_MINUTES;
use crate::ratelimit::{RESET_ADDRESS, RESET_EMAIL};
use crate::state::AppState;

/// The longest link secret looked up (ours are 43 characters).
const TOKEN_MAX: usize = 128;

fn request_page(csrf: &str, email: &str, error: Option<&str>) -> Markup {
    page(
        "Reset your password",
        None,
        html! {
            section.card {
                h1 { "Reset your password" }
                p.lead { "Enter the e-mail address you sign in with. We will send you a link to choose a new password." }
                form method="post" action="/forgot-password" novalidate {
                    input type="hidden" name="csrf" value=(csrf);
                    (field(Field { label: "Email", name: "email", kind: "email", value: email, autocomplete: "username",
                        hint: None, error }))
                    div.actions.single { button.primary type="submit" { "Send the link" } }
                }
                p.switch { "Remembered it? " a href="/login" { "Sign in" } }
            }
        },
    )
}

/// `GET /forgot-password`.
pub async fn request_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, is_new) = anonymous_csrf(&headers);
    with_csrf_cookie(&state, html(StatusCode::OK, request_page(&csrf, "", None)), &csrf, is_new)
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    csrf: String,
    email: String,
}

/// `POST /forgot-password`: mails a link when the address has an account;
/// answers the same either way.
pub async fn request(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(address): ClientAddr,
    WebForm(form): WebForm<RequestForm>,
) -> Result<Response, WebError> {
    check_anonymous_csrf(&headers, &state, &form.csrf)?;
    let Ok(email) = normalize_email(&form.email) else {
        let page = request_page(&form.csrf, form.email.trim(), Some("Enter an e-mail address like you@example.com."));
        return Ok(html(StatusCode::BAD_REQUEST, page));
    };
    if let Some(wait) = state.limits.take(&[(RESET_ADDRESS, &address), (RESET_EMAIL, &email)]).await? {
        return Err(WebError::RateLimited(wait));
    }
    if let Some(user) = state.store.user_by_email(&email).await? {
        let mail = OutgoingMail {
            to: email.clone(),
            subject: "Reset your SiteGPT password".into(),
            body: format!(
                "Someone (we hope you) asked to reset the password of your SiteGPT account.\n\n\
                 Choose a new password here:\n{{link}}\n\n\
                 The link works once, within {RESET_MINUTES} minutes. Using it signs you out everywhere.\n\
                 If you did not ask for this, ignore this mail: your password stays as it is.\n"
            ),
            link: Some(MailLink::ResetPassword),
            user_id: Some(user.id.clone()),
            html: None,
            unsubscribe: None,
        };
        state.store.queue_mail(mail, Utc::now()).await?;
        state.mail.wake();
        tracing::info!(user_id = %user.id, "password reset requested");
    } else {
        tracing::info!("password reset requested for an address without an account");
    }
    let message = format!(
        "If an account uses {email}, we sent it a link to choose a new password. The link works once, within \
         {RESET_MINUTES} minutes. Nothing arrived? Check your spam folder, or ask again in a few minutes."
    );
    Ok(html(StatusCode::OK, message_page("Check your inbox", &message, None)))
}

#[derive(Debug, Deserialize)]
pub struct TokenParams {
    token: Option<String>,
}

/// Why a link cannot be used, as a page.
fn unusable(error: StoreError) -> Result<Response, WebError> {
    let (status, title, message) = match error {
        StoreError::NotFound => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from the e-mail, or ask for a new one.".to_owned(),
        ),
        StoreError::Conflict(why) => (
            StatusCode::GONE,
            "This link can no longer be used",
            format!("{}{}. Ask for a new one.", why[..1].to_uppercase(), &why[1..]),
        ),
        other => return Err(other.into()),
    };
    let body = html! {
        section.card {
            h1 { (title) }
            p { (message) }
            div.actions.single { a.button.primary href="/forgot-password" { "Ask for a new link" } }
        }
    };
    Ok(html(status, page(title, None, body)))
}

fn choose_page(csrf: &str, token: &str, error: Option<&str>) -> Markup {
    let hint = format!("At least {PASSWORD_MIN} characters.");
    page(
        "Choose a new password",
        None,
        html! {
            section.card {
                h1 { "Choose a new password" }
                p.lead { "Saving it signs you out on every device; then sign in with the new password." }
                form method="post" action="/reset-password" novalidate {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="token" value=(token);
                    (field(Field { label: "New password", name: "password", kind: "password", value: "",
                        autocomplete: "new-password", hint: Some(&hint), error }))
                    div.actions.single { button.primary type="submit" { "Save the new password" } }
                }
            }
        },
    )
}

/// A page that carries the link's secret: never stored by a browser or proxy.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// `GET /reset-password?token=…`: the form, if the link can still be used.
pub async fn choose_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<TokenParams>,
) -> Result<Response, WebError> {
    let Some(token) = params.token.filter(|t| !t.is_empty() && t.len() <= TOKEN_MAX) else {
        return unusable(StoreError::NotFound);
    };
    if let Err(e) = state.store.check_password_reset(hash_secret(&token), Utc::now()).await {
        return unusable(e);
    }
    let (csrf, is_new) = anonymous_csrf(&headers);
    Ok(private(with_csrf_cookie(&state, html(StatusCode::OK, choose_page(&csrf, &token, None)), &csrf, is_new)))
}

#[derive(Debug, Deserialize)]
pub struct ChooseForm {
    csrf: String,
    token: String,
    password: String,
}

/// `POST /reset-password`: sets the password and ends every session.
pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    WebForm(form): WebForm<ChooseForm>,
) -> Result<Response, WebError> {
    check_anonymous_csrf(&headers, &state, &form.csrf)?;
    if form.token.is_empty() || form.token.len() > TOKEN_MAX {
        return unusable(StoreError::NotFound);
    }
    let token_hash = hash_secret(&form.token);
    if let Err(why) = check_password(&form.password) {
        // The link is checked first, so a dead link is not asked for a password again.
        if let Err(e) = state.store.check_password_reset(token_hash, Utc::now()).await {
            return unusable(e);
        }
        return Ok(private(html(StatusCode::BAD_REQUEST, choose_page(&form.csrf, &form.token, Some(&why)))));
    }
    let password = form.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let user =
        match state.store.use_password_reset(token_hash, &password_hash, Utc::now(), &crate::audit::origin()).await {
            Ok(user) => user,
            Err(e) => return unusable(e),
        };
    tracing::info!(user_id = %user.id, "password reset; every session ended");
    let body = html! {
        section.card {
            h1 { "Password changed" }
            p { "The password of " (user.email) " is changed, and every device that was signed in is signed out." }
            div.actions.single { a.button.primary href="/login" { "Sign in" } }
        }
    };
    let mut response = html(StatusCode::OK, page("Password changed", None, body));
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(private(response))
}
