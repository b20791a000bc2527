//! Sign-up, sign-in, sign-out and e-mail verification.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_store::password::{PASSWORD_MIN, check_password, hash_password, verify_password};
use sitegpt_store::{MailLink, NewMembership, NewSession, NewUser, OutgoingMail, StoreError, User};

use super::layout::{Field, alert, field, message_page, page};
use super::{
    CSRF_COOKIE, ClientAddr, MaybeSession, SESSION_COOKIE, SESSION_DAYS, WebError, WebForm, check_origin, client_addr,
    constant_time_eq, cookie, hash_secret, html, random_secret, redirect, safe_next, set_cookie, urlencode,
};
use crate::issue::NAME_MAX;
use crate::mail::VERIFICATION_HOURS;
use crate::ratelimit::{LOGIN_ACCOUNT, LOGIN_ADDRESS, LOGIN_ADDRESS_ACCOUNT, RESEND_VERIFICATION, SIGNUP_ADDRESS};
use crate::state::AppState;
use sitegpt_access::email::normalize_email;

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// The anonymous CSRF token: the cookie's value, or a new one to set.
pub(super) fn anonymous_csrf(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 43) {
        Some(existing) => (existing, false),
        None => (random_secret(), true),
    }
}

pub(super) fn check_anonymous_csrf(headers: &HeaderMap, state: &AppState, presented: &str) -> Result<(), WebError> {
    check_origin(headers, state)?;
    match cookie(headers, CSRF_COOKIE) {
        Some(expected) if constant_time_eq(&expected, presented) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

pub(super) fn with_csrf_cookie(state: &AppState, mut response: Response, csrf: &str, is_new: bool) -> Response {
    if is_new {
        response.headers_mut().append(header::SET_COOKIE, set_cookie(state, CSRF_COOKIE, csrf, 60 * 60 * 24));
    }
    response
}

struct SignupValues<'a> {
    email: &'a str,
    team: &'a str,
    next: &'a str,
    /// The invitation signed up through: its id, team name and role.
    invitation: Option<&'a (sitegpt_store::Invitation, String)>,
    email_error: Option<&'a str>,
    password_error: Option<&'a str>,
    error: Option<&'a str>,
}

fn signup_page(csrf: &str, v: SignupValues<'_>) -> Markup {
    let password_hint = format!("At least {PASSWORD_MIN} characters.");
    page(
        "Create your account",
        None,
        html! {
            section.card {
                h1 { "Create your account" }
                @match v.invitation {
                    Some((invitation, team)) => p.lead { "You are invited to join " strong { (team) } " as " (invitation.role)
                        ". Create your account with the invited address; you join once you verify it." },
                    None => p.lead { "Manage your chatbots and give tools and agents scoped access." },
                }
                (alert(v.error))
                form method="post" action="/signup" novalidate {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(v.next);
                    @if let Some((invitation, _)) = v.invitation { input type="hidden" name="invitation" value=(invitation.id); }
                    (field(Field { label: "Email", name: "email", kind: "email", value: v.email, autocomplete: "email",
                        hint: None, error: v.email_error }))
                    (field(Field { label: "Password", name: "password", kind: "password", value: "",
                        autocomplete: "new-password", hint: Some(&password_hint), error: v.password_error }))
                    @if v.invitation.is_none() {
                        (field(Field { label: "Team name", name: "team", kind: "text", value: v.team,
                            autocomplete: "organization", hint: Some("Optional. You can change it later."), error: None }))
                    }
                    div.actions.single { button.primary type="submit" { "Create account" } }
                }
                p.switch { "Already have an account? " a href={ "/login?next=" (urlencode(v.next)) } { "Sign in" } }
            }
        },
    )
}

fn login_page(csrf: &str, email: &str, next: &str, error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            section.card {
                h1 { "Sign in" }
                p.lead { "Welcome back to SiteGPT." }
                (alert(error))
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    (field(Field { label: "Email", name: "email", kind: "email", value: email, autocomplete: "username",
                        hint: None, error: None }))
                    (field(Field { label: "Password", name: "password", kind: "password", value: "",
                        autocomplete: "current-password", hint: None, error: None }))
                    div.actions.single { button.primary type="submit" { "Sign in" } }
                }
                p.switch { a href="/forgot-password" { "Forgot password?" } }
                p.switch { "New here? " a href={ "/signup?next=" (urlencode(next)) } { "Create an account" } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignupParams {
    next: Option<String>,
    /// From an invitation mail: the invitation and the address it is for.
    invitation: Option<String>,
    email: Option<String>,
}

/// The open invitation `id` to `email`, with the inviting team's name.
async fn open_invitation(
    state: &AppState,
    email: &str,
    id: &str,
) -> Result<Option<(sitegpt_store::Invitation, String)>, WebError> {
    let Ok(email) = normalize_email(email) else { return Ok(None) };
    let open = state.store.invitations_to(&email, Utc::now()).await?;
    Ok(open.into_iter().find(|(invitation, _)| invitation.id == id))
}

pub async fn signup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignupParams>,
) -> Result<Response, WebError> {
    let (csrf, is_new) = anonymous_csrf(&headers);
    let next = safe_next(q.next.as_deref());
    let email = q.email.as_deref().unwrap_or_default();
    let invitation = match &q.invitation {
        Some(id) => open_invitation(&state, email, id).await?,
        None => None,
    };
    let gone = q.invitation.is_some() && invitation.is_none();
    let error = gone.then_some(
        "This invitation is no longer open (withdrawn, expired or already used). You can still create an account \
         with a team of your own, or ask the team for a new invitation.",
    );
    let values = SignupValues {
        email,
        team: "",
        next: &next,
        invitation: invitation.as_ref(),
        email_error: None,
        password_error: None,
        error,
    };
    Ok(with_csrf_cookie(&state, html(StatusCode::OK, signup_page(&csrf, values)), &csrf, is_new))
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    csrf: String,
    email: String,
    password: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    invitation: Option<String>,
}

pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(address): ClientAddr,
    WebForm(form): WebForm<SignupForm>,
) -> Result<Response, WebError> {
    check_anonymous_csrf(&headers, &state, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let email = normalize_email(&form.email);
    let password_error = check_password(&form.password).err();
    let team = form.team.trim();
    let invitation = match form.invitation.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => match open_invitation(&state, &form.email, id).await? {
            Some(open) => Some(open),
            None => {
                let values = SignupValues {
                    email: form.email.trim(),
                    team,
                    next: &next,
                    invitation: None,
                    email_error: None,
                    password_error: None,
                    error: Some(
                        "This invitation is not open for this address. Use the address it was sent to, or create \
                         an account with a team of your own.",
                    ),
                };
                return Ok(html(StatusCode::BAD_REQUEST, signup_page(&form.csrf, values)));
            }
        },
        None => None,
    };
    let rerender = |email_error: Option<&str>, password_error: Option<&str>, error: Option<&str>| {
        let values = SignupValues {
            email: form.email.trim(),
            team,
            next: &next,
            invitation: invitation.as_ref(),
            email_error,
            password_error,
            error,
        };
        html(StatusCode::BAD_REQUEST, signup_page(&form.csrf, values))
    };
    let email = match (email, &password_error) {
        (Ok(email), None) if team.chars().count() <= NAME_MAX => email,
        (email, _) => {
            let email_error = email.err().map(|_| "Enter an e-mail address like you@example.com.".to_owned());
            let too_long = format!("The team name can have at most {NAME_MAX} characters.");
            let error = (team.chars().count() > NAME_MAX).then_some(too_long.as_str());
            return Ok(rerender(email_error.as_deref(), password_error.as_deref(), error));
        }
    };
    // Counted only once the form is valid, and before the password hash and
    // the mail that each sign-up costs.
    if let Some(wait) = state.limits.take(&[(SIGNUP_ADDRESS, &address)]).await? {
        return Err(WebError::RateLimited(wait));
    }
    let password = form.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let team = if team.is_empty() { format!("{email}'s team") } else { team.to_owned() };
    let now = Utc::now();
    let new_user = NewUser {
        email: email.clone(),
        password_hash,
        email_verified: false,
        membership: match &invitation {
            // No team of their own: they join the inviting one once verified.
            Some((invitation, _)) => NewMembership::Invited { account_id: invitation.account_id.clone() },
            None => NewMembership::NewAccount { name: team, subscription: state.default_subscription },
        },
        now,
    };
    // Whether or not the address has an account, the answer is the same
    // page; only the mail differs. So sign-up tells nobody who is a user.
    match state.store.sign_up(new_user, verification_mail(&email, &next)).await {
        Ok((user, _)) => tracing::info!(user_id = %user.id, "signed up"),
        Err(StoreError::Conflict(_)) => {
            let existing = state.store.user_by_email(&email).await?;
            tracing::info!(user_id = ?existing.as_ref().map(|u| &u.id), "sign-up with a registered address");
            // Not yet verified: signing up again sends a new link, as the
            // page promises; otherwise the owner hears that someone tried.
            let mail = match existing {
                Some(user) if user.email_verified_at.is_none() => {
                    OutgoingMail { user_id: Some(user.id), ..verification_mail(&email, &next) }
                }
                existing => signup_attempt_mail(&state, &email, existing.map(|u| u.id)),
            };
            state.store.queue_mail(mail, now).await?;
        }
        Err(e) => return Err(e.into()),
    }
    state.mail.wake();
    Ok(html(StatusCode::OK, check_inbox_page(&email, &next)))
}

/// The verification mail; the queue puts a fresh link at `{link}`, and
/// `next` rides along so the person ends up where they were going.
pub fn verification_mail(email: &str, next: &str) -> OutgoingMail {
    let link =
        if next == super::DEFAULT_NEXT { "{link}".to_owned() } else { format!("{{link}}&next={}", urlencode(next)) };
    OutgoingMail {
        to: email.to_owned(),
        subject: "Verify your e-mail address for SiteGPT".into(),
        body: format!(
            "Hello,\n\nconfirm that {email} is your e-mail address by opening this link within {VERIFICATION_HOURS} hours:\n\n{link}\n\n\
             If you did not create a SiteGPT account, ignore this message.\n"
        ),
        link: Some(MailLink::VerifyEmail),
        user_id: None,
        html: None,
        unsubscribe: None,
    }
}

/// Sent instead when someone signs up with an address that has an account.
fn signup_attempt_mail(state: &AppState, email: &str, user_id: Option<String>) -> OutgoingMail {
    let public = &state.public_url;
    OutgoingMail {
        to: email.to_owned(),
        subject: "Someone tried to create a SiteGPT account with your address".into(),
        body: format!(
            "Hello,\n\nsomeone just tried to create a SiteGPT account with {email}, which already has one.\n\n\
             If it was you, sign in instead:\n\n{public}/login\n\n\
             If it was not you, nothing has changed and you can ignore this message.\n"
        ),
        link: None,
        user_id,
        html: None,
        unsubscribe: None,
    }
}

fn check_inbox_page(email: &str, next: &str) -> Markup {
    page(
        "Check your inbox",
        None,
        html! {
            section.card {
                h1 { "Check your inbox" }
                p { "We sent a message to " strong { (email) } ". Open the link in it to verify your address, then sign in." }
                p.hint { "Nothing there after a few minutes? Look in your spam folder, or sign up again to have it sent once more." }
                div.actions.single { a.button.primary href={ "/login?next=" (urlencode(next)) } { "Sign in" } }
            }
        },
    )
}

/// Queues a new verification link for `user` and wakes the mail worker.
pub async fn send_verification(state: &AppState, user: &User) -> Result<(), WebError> {
    let mut mail = verification_mail(&user.email, super::DEFAULT_NEXT);
    mail.user_id = Some(user.id.clone());
    state.store.queue_mail(mail, Utc::now()).await?;
    state.mail.wake();
    Ok(())
}

async fn start_session(state: &AppState, user: &User, next: &str) -> Result<Response, WebError> {
    let id = random_secret();
    let now = Utc::now();
    state
        .store
        .create_session(
            NewSession {
                id_hash: hash_secret(&id),
                user_id: user.id.clone(),
                csrf_token: random_secret(),
                now,
                expires_at: now + Duration::days(SESSION_DAYS),
            },
            &crate::audit::actor(&user.id, None),
        )
        .await?;
    let mut response = redirect(next);
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, SESSION_COOKIE, &id, SESSION_DAYS * 86_400));
    Ok(response)
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Query(q): Query<NextParam>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if session.is_some() {
        return redirect(&next);
    }
    let (csrf, is_new) = anonymous_csrf(&headers);
    with_csrf_cookie(&state, html(StatusCode::OK, login_page(&csrf, "", &next, None)), &csrf, is_new)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let address = client_addr(request.extensions());
    let WebForm(form) =
        <WebForm<LoginForm> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    check_anonymous_csrf(&headers, &state, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let email = normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
    let pair = format!("{address} {email}");
    if let Some(wait) = login_blocked(&state, &address, &email, &pair).await? {
        return Err(WebError::RateLimited(wait));
    }
    let user = state.store.user_by_email(&email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = form.password.clone();
    // Unknown users are checked against a dummy hash: the same work either way.
    let valid = tokio::task::spawn_blocking(move || verify_password(stored.as_deref(), &password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    match user {
        Some(user) if valid => {
            tracing::info!(user_id = %user.id, "signed in");
            start_session(&state, &user, &next).await
        }
        known => {
            if let Some(user) = known {
                crate::audit::sign_in_failed(&state.store, &user.id);
            }
            let failed = [(LOGIN_ADDRESS, address.as_str()), (LOGIN_ADDRESS_ACCOUNT, &pair), (LOGIN_ACCOUNT, &email)];
            state.limits.fail(&failed).await?;
            tracing::info!("failed sign-in");
            let page = login_page(&form.csrf, form.email.trim(), &next, Some("Incorrect e-mail or password."));
            Ok(html(StatusCode::UNAUTHORIZED, page))
        }
    }
}

/// How long a sign-in from `address` into `email` must wait, if at all: an
/// address that failed too often (at all, or for this account) waits; past
/// the account's own limit, so does every address that has failed for it,
/// while an address that has not failed may still try. So nobody can keep
/// an owner out by failing on purpose from other addresses.
async fn login_blocked(
    state: &AppState,
    address: &str,
    email: &str,
    pair: &str,
) -> Result<Option<std::time::Duration>, WebError> {
    if let Some(wait) = state.limits.blocked(&[(LOGIN_ADDRESS, address), (LOGIN_ADDRESS_ACCOUNT, pair)]).await? {
        return Ok(Some(wait));
    }
    if state.limits.count(&LOGIN_ADDRESS_ACCOUNT, pair).await? == 0 {
        return Ok(None);
    }
    Ok(state.limits.blocked(&[(LOGIN_ACCOUNT, email)]).await?)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    check_origin(&headers, &state)?;
    if let Some(signed_in) = session {
        signed_in.check_csrf(&form.csrf)?;
        state.store.delete_session(signed_in.id_hash).await?;
    }
    let mut response = redirect("/login");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct VerifyParams {
    token: Option<String>,
    next: Option<String>,
}

pub async fn verify_email(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<VerifyParams>,
) -> Result<Response, WebError> {
    let viewer = session.as_ref().map(super::SignedIn::viewer);
    let Some(token) = params.token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            message_page("This link is incomplete", "Open the whole link from the e-mail.", viewer),
        ));
    };
    match state.store.use_email_verification(hash_secret(&token), Utc::now()).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "e-mail verified");
            // The address is proven now: invitations sent to it take effect.
            let joined = state.store.accept_invitations(&user.email, &user.id, None, Utc::now()).await?;
            if !joined.is_empty() {
                tracing::info!(user_id = %user.id, accounts = joined.len(), "joined the teams that invited them");
            }
            let next = safe_next(params.next.as_deref());
            let signed_in_as_user = session.as_ref().is_some_and(|s| s.session.user.id == user.id);
            let continue_to = if signed_in_as_user { next } else { format!("/login?next={}", urlencode(&next)) };
            let action = if signed_in_as_user { "Continue" } else { "Sign in" };
            let body = html! {
                section.card {
                    h1 { "Your e-mail is verified" }
                    p { (user.email) " is confirmed. Your API tokens can now be used." }
                    div.actions.single { a.button.primary href=(continue_to) { (action) } }
                }
            };
            Ok(html(StatusCode::OK, page("E-mail verified", viewer, body)))
        }
        Err(StoreError::NotFound) => Ok(html(
            StatusCode::NOT_FOUND,
            message_page(
                "This link is not valid",
                "Check that you opened the whole link, or ask for a new one from the start page.",
                viewer,
            ),
        )),
        Err(StoreError::Conflict(why)) if why == sitegpt_store::ALREADY_VERIFIED => {
            let continue_to = if session.is_some() { super::DEFAULT_NEXT } else { "/login" };
            let body = html! {
                section.card {
                    h1 { "Already verified" }
                    p { "This address is verified already; there is nothing more to do with this link." }
                    div.actions.single { a.button.primary href=(continue_to) { @if session.is_some() { "Continue" } @else { "Sign in" } } }
                }
            };
            Ok(html(StatusCode::OK, page("Already verified", viewer, body)))
        }
        Err(StoreError::Conflict(why)) => Ok(html(
            StatusCode::GONE,
            message_page(
                "This link can no longer be used",
                &format!("{} Ask for a new one from the start page.", capitalize(&why)),
                viewer,
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
}

pub async fn resend_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, WebError> {
    check_origin(&headers, &state)?;
    let Some(signed_in) = session else { return Ok(redirect("/login")) };
    signed_in.check_csrf(&form.csrf)?;
    let user = &signed_in.session.user;
    let viewer = Some(signed_in.viewer());
    if user.email_verified_at.is_some() {
        return Ok(html(
            StatusCode::OK,
            message_page("Already verified", "Your e-mail address is already verified.", viewer),
        ));
    }
    if let Some(wait) = state.limits.take(&[(RESEND_VERIFICATION, &user.id)]).await? {
        return Err(WebError::RateLimited(wait));
    }
    send_verification(&state, user).await?;
    Ok(html(
        StatusCode::OK,
        message_page("Check your inbox", &format!("We sent a new verification link to {}.", user.email), viewer),
    )
    .into_response())
}
