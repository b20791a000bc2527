//! The dashboard: sign-in and **Settings → API tokens**, where people
//! create personal access tokens (named, with chosen scopes, shown once,
//! expiring six months on) and revoke them. Server-rendered, no script;
//! every form carries a CSRF token that must match the `sitepulse_csrf`
//! cookie (SameSite=Strict), and the session cookie holds a random id of
//! which the store keeps only the SHA-256.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sitegpt_access::base62;
use sitegpt_access::oauth::ResourceKind;
use sitegpt_access::sitepulse::{PRESETS, PulseAccessToken, PulseScope, PulseScopes, token_expiry};
use sitegpt_store::password::verify_password;
use sitegpt_store::pulse::{NewPulseToken, PulseTokenRecord, PulseUser};

use crate::api::AppState;

pub const SESSION_COOKIE: &str = "sitepulse_session";
pub const CSRF_COOKIE: &str = "sitepulse_csrf";
const SESSION_DAYS: i64 = 14;

/// A random secret for a cookie: 32 bytes, base62.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base62::encode_fixed(&bytes, base62::width_for_bytes(32))
}

fn session_hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64, same_site: &str) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A page answer under the engine's page policy (its stylesheet and script
/// only); no page is stored by caches, as some show a secret.
pub(crate) fn page(status: StatusCode, body: Markup, cookies: Vec<HeaderValue>) -> Response {
    page_posting_to(status, body, cookies, None)
}

/// A page whose form, once posted, may redirect to `target`'s origin (an
/// OAuth client's redirect URI, which `form-action` also governs).
pub(crate) fn page_posting_to(
    status: StatusCode,
    body: Markup,
    cookies: Vec<HeaderValue>,
    target: Option<&str>,
) -> Response {
    let mut response = match target {
        Some(target) => sitegpt_server::web::html_redirecting_to(status, body, target),
        None => sitegpt_server::web::html(status, body),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    for value in cookies {
        headers.append(header::SET_COOKIE, value);
    }
    response
}

pub(crate) fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    for value in cookies {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The CSRF token of this browser, and the cookie to set when it had none.
pub(crate) fn csrf(state: &AppState, headers: &HeaderMap) -> (String, Vec<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|v| v.len() >= 32) {
        Some(token) => (token, Vec::new()),
        None => {
            let token = random_secret();
            let set = set_cookie(state, CSRF_COOKIE, &token, SESSION_DAYS * 86_400, "Strict");
            (token, vec![set])
        }
    }
}

/// A form's fields, repeated names kept.
pub(crate) struct Form(pub(crate) Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &Bytes) -> Form {
        Form(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the form's CSRF token is this browser's.
    pub(crate) fn csrf_ok(&self, headers: &HeaderMap) -> bool {
        match (self.get("csrf"), cookie(headers, CSRF_COOKIE)) {
            (Some(sent), Some(kept)) => !kept.is_empty() && sent.as_bytes() == kept.as_bytes(),
            _ => false,
        }
    }
}

pub(crate) fn refused_form() -> Response {
    let body = frame(
        "Form expired",
        None,
        html! {
            p { "This form has expired or came from another site. " a href="/settings/tokens" { "Open it again" } " and retry." }
        },
    );
    page(StatusCode::FORBIDDEN, body, Vec::new())
}

/// 500, after `what` went wrong (logged with its cause, never shown).
pub(crate) fn server_error(what: &str, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "{what}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        frame("Server error", None, html! { p { "Something went wrong on our side. Retry in a moment." } }),
        Vec::new(),
    )
}

/// The signed-in user, if the session cookie names a live session.
pub(crate) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<PulseUser>, Response> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    state
        .store
        .session_user(session_hash(&id), Utc::now())
        .await
        .map_err(|e| server_error("could not read a session", &e))
}

/// The signed-in person, or the answer that sends them to sign in first
/// (coming back to `back_to`, if given).
pub(crate) async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
    back_to: Option<&str>,
) -> Result<PulseUser, Response> {
    match signed_in(state, headers).await? {
        Some(user) => Ok(user),
        None => Err(back_to.map_or_else(sign_in_first, sign_in_then)),
    }
}

/// A form posted by the signed-in person: its fields, once its CSRF token
/// is this browser's; otherwise the refusal, or the way to sign in.
pub(crate) async fn posted(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(Form, PulseUser), Response> {
    let form = Form::parse(body);
    if !form.csrf_ok(headers) {
        return Err(refused_form());
    }
    match signed_in(state, headers).await? {
        Some(user) => Ok((form, user)),
        None => Err(sign_in_first()),
    }
}

fn sign_in_first() -> Response {
    see_other("/login", Vec::new())
}

/// A page in the engine's frame (`crate::frame`), `body` in a card under
/// `title`.
pub(crate) fn frame(title: &str, user: Option<(&PulseUser, &str)>, body: Markup) -> Markup {
    frame_at("", title, user, body)
}

/// [`frame`] for a page of the section at `here`, in a card wide enough for
/// a table.
pub(crate) fn frame_at(here: &str, title: &str, user: Option<(&PulseUser, &str)>, body: Markup) -> Markup {
    let account = user.map(|(user, csrf)| (user.email.as_str(), csrf, user.email_verified_at.is_some()));
    let card = if here.is_empty() {
        html! { section.card.wide { h1 { (title) } (body) } }
    } else {
        html! { section.card.wide.agents { h1 { (title) } (body) } }
    };
    crate::frame::page(here, title, account, card)
}

/// Scope checkboxes (`name`), each with its description and wire name.
pub(crate) fn scope_choices(name: &str, scopes: impl Iterator<Item = PulseScope>, checked: PulseScopes) -> Markup {
    html! {
        ul.scopes {
            li {
                ul.grants {
                    @for scope in scopes {
                        li {
                            label.grant {
                                input type="checkbox" name=(name) value=(scope.as_str()) checked[checked.contains(scope)];
                                span { (scope.description()) " (" code { (scope.as_str()) } ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn home() -> Response {
    see_other("/settings/tokens", Vec::new())
}

/// Where to go after signing in: a path of this server, else the tokens page.
/// Only printable ASCII, so nothing a browser drops from a URL (a tab, a
/// newline) can turn `/\t/host` into `//host`, another site.
fn after_sign_in(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/settings/tokens",
    }
}

/// The sign-in page, coming back to `here` (a path of this server) after.
pub(crate) fn sign_in_then(here: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    see_other(&format!("/login?next={next}"), Vec::new())
}

fn login_form(csrf: &str, email: &str, next: Option<&str>, error: Option<&str>) -> Markup {
    frame(
        "Sign in",
        None,
        html! {
            @if let Some(error) = error { p.alert role="alert" { (error) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                div.field {
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required;
                }
                div.field {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                div.actions.single { button.primary type="submit" { "Sign in" } }
            }
        },
    )
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let next = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    if let Ok(Some(_)) = signed_in(&state, &headers).await {
        return see_other(after_sign_in(next.as_deref()), Vec::new());
    }
    let (token, cookies) = csrf(&state, &headers);
    page(StatusCode::OK, login_form(&token, "", next.as_deref(), None), cookies)
}

pub async fn login(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else { return refused_form() };
    let headers = parts.headers;
    let form = Form::parse(&body);
    if !form.csrf_ok(&headers) {
        return refused_form();
    }
    let (token, _) = csrf(&state, &headers);
    let email = form.get("email").unwrap_or_default().trim().to_lowercase();
    let password = form.get("password").unwrap_or_default();
    let next = form.get("next");
    let key = format!("{}|{email}", sitegpt_server::conn::client_addr(&parts.extensions));
    if state.sign_in_failures.blocked(&key).is_some() {
        let body = login_form(&token, &email, next, Some("Too many failed attempts. Wait ten minutes, then retry."));
        return page(StatusCode::TOO_MANY_REQUESTS, body, Vec::new());
    }
    let found = match state.store.password_hash(&email).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "could not read a user");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                login_form(&token, &email, next, Some("Server error. Retry.")),
                Vec::new(),
            );
        }
    };
    if !verify_password(found.as_ref().map(|(_, hash)| hash.as_str()), password) {
        state.sign_in_failures.fail(&key);
        let body = login_form(&token, &email, next, Some("The e-mail address or the password is wrong."));
        return page(StatusCode::UNAUTHORIZED, body, Vec::new());
    }
    let Some((user, _)) = found else { return sign_in_first() };
    let id = random_secret();
    let now = Utc::now();
    if let Err(e) =
        state.store.create_session(session_hash(&id), &user.id, now, now + Duration::days(SESSION_DAYS)).await
    {
        tracing::error!(error = %e, "could not store a session");
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            login_form(&token, &email, next, Some("Server error. Retry.")),
            Vec::new(),
        );
    }
    // A fresh CSRF token with the new session.
    let csrf_token = random_secret();
    see_other(
        after_sign_in(next),
        vec![
            set_cookie(&state, SESSION_COOKIE, &id, SESSION_DAYS * 86_400, "Lax"),
            set_cookie(&state, CSRF_COOKIE, &csrf_token, SESSION_DAYS * 86_400, "Strict"),
        ],
    )
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !Form::parse(&body).csrf_ok(&headers) {
        return refused_form();
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.store.delete_session(session_hash(&id)).await
    {
        tracing::error!(error = %e, "could not end a session");
    }
    see_other("/login", vec![set_cookie(&state, SESSION_COOKIE, "", 0, "Lax")])
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn token_row(token: &PulseTokenRecord, now: DateTime<Utc>) -> Markup {
    let status = match (token.revoked_at, token.expires_at <= now) {
        (Some(at), _) => format!("revoked {}", when(at)),
        (None, true) => format!("expired {}", when(token.expires_at)),
        (None, false) => format!("expires {}", when(token.expires_at)),
    };
    html! {
        tr.revoked[token.revoked_at.is_some()] {
            th scope="row" { (token.name) " " span.hint { "…" (token.hint) } }
            td data-label="Scopes" {
                @for (i, scope) in token.scopes.iter().enumerate() { @if i > 0 { " " } code { (scope.as_str()) } }
            }
            td.date data-label="Created" { (when(token.created_at)) }
            td.date data-label="Last used" {
                @match token.last_used_at { Some(at) => { (when(at)) }, None => { "never" } }
            }
            td.date data-label="Status" { (status) }
            td.row-actions {
                @if token.revoked_at.is_none() && token.expires_at > now {
                    a.danger href={ "/settings/tokens/" (token.id) "/revoke" } aria-label={ "Revoke " (token.name) } { "Revoke" }
                }
            }
        }
    }
}

struct Draft<'a> {
    name: &'a str,
    scopes: PulseScopes,
    error: Option<&'a str>,
}

fn tokens_page(
    user: &PulseUser,
    csrf: &str,
    tokens: &[PulseTokenRecord],
    draft: Draft<'_>,
    notice: Option<&str>,
) -> Markup {
    let now = Utc::now();
    frame_at(
        "/settings/tokens",
        "API tokens",
        Some((user, csrf)),
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            p.lead { "A token acts on your behalf in every team you belong to, within its scopes. It expires six months after it is created." }
            h2 { "Your tokens" }
            @if tokens.is_empty() {
                p.empty { "No tokens yet." }
            } @else {
                div.table-wrap {
                    table.tokens {
                        thead {
                            tr {
                                th scope="col" { "Name" }
                                th scope="col" { "Scopes" }
                                th scope="col" { "Created" }
                                th scope="col" { "Last used" }
                                th scope="col" { "Status" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody { @for token in tokens { (token_row(token, now)) } }
                    }
                }
            }
            h2 #create { "Create a token" }
            @if let Some(error) = draft.error { p.alert role="alert" { (error) } }
            p {
                "Start from a combination: "
                @for (i, preset) in PRESETS.iter().enumerate() {
                    @if i > 0 { " · " }
                    a href={ "/settings/tokens?preset=" (i) "#create" } { (preset.name) }
                }
            }
            form method="post" action="/settings/tokens" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="name" { "Name" }
                    input #name type="text" name="name" value=(draft.name) maxlength="100" placeholder="CI Pipeline" required;
                }
                fieldset {
                    legend { "Scopes (grant only what you need)" }
                    (scope_choices("scope", PulseScope::ALL.iter().copied(), draft.scopes))
                }
                div.actions.single { button.primary type="submit" { "Create token" } }
            }
        },
    )
}

async fn list(state: &AppState, user: &PulseUser) -> Result<Vec<PulseTokenRecord>, Response> {
    state.store.tokens_of(&user.id).await.map_err(|e| server_error("could not list tokens", &e))
}

pub async fn tokens(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let user = match viewer(&state, &headers, None).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let tokens = match list(&state, &user).await {
        Ok(tokens) => tokens,
        Err(response) => return response,
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let preset = query
        .iter()
        .find(|(k, _)| k == "preset")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .and_then(|i| PRESETS.get(i));
    let notice =
        query.iter().find(|(k, _)| k == "revoked").map(|_| "The token is revoked: the API refuses it from now on.");
    let scopes = preset.map(|p| p.scopes.iter().copied().collect()).unwrap_or_default();
    let (csrf_token, cookies) = csrf(&state, &headers);
    let body = tokens_page(&user, &csrf_token, &tokens, Draft { name: "", scopes, error: None }, notice);
    page(StatusCode::OK, body, cookies)
}

pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, user) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (csrf_token, _) = csrf(&state, &headers);
    let name = form.get("name").unwrap_or_default().trim().to_owned();
    let scopes: Result<PulseScopes, _> = form.all("scope").map(str::parse::<PulseScope>).collect();
    let error = match &scopes {
        _ if name.is_empty() => Some("Give the token a name, e.g. CI Pipeline."),
        _ if name.chars().count() > 100 || name.chars().any(char::is_control) => {
            Some("Use a name of at most 100 characters, without control characters.")
        }
        Err(_) => Some("One of the scopes is not a SitePulse scope."),
        Ok(scopes) if scopes.is_empty() => Some("Choose at least one scope."),
        Ok(_) => None,
    };
    if let Some(error) = error {
        let tokens = match list(&state, &user).await {
            Ok(tokens) => tokens,
            Err(response) => return response,
        };
        let draft = Draft { name: &name, scopes: scopes.unwrap_or_default(), error: Some(error) };
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            tokens_page(&user, &csrf_token, &tokens, draft, None),
            Vec::new(),
        );
    }
    let plain = PulseAccessToken::generate();
    let now = Utc::now();
    let new = NewPulseToken {
        user_id: user.id.clone(),
        name,
        hash: plain.hash(),
        hint: plain.hint(),
        scopes: scopes.unwrap_or_default(),
        created_at: now,
        expires_at: token_expiry(now),
    };
    let token = match state.store.create_token(new).await {
        Ok(token) => token,
        Err(e) => {
            return server_error("could not create a token", &e);
        }
    };
    let secret = plain.expose();
    let body = frame(
        "Token created",
        Some((&user, &csrf_token)),
        html! {
            p.notice role="status" { "Copy the token now: it is shown once and cannot be retrieved again." }
            div.field {
                label for="secret" { (token.name) }
                div.copy-row {
                    input #secret.secret-value type="text" readonly value=(secret) data-forget="/settings/tokens";
                    button.copy type="button" data-copy="secret" hidden { "Copy" }
                }
                p.hint { "Expires " (when(token.expires_at)) ". Send it as " code { "Authorization: Bearer …" } " with " code { "Accept: application/json" } "." }
            }
            div.actions.single { a.button.primary href="/settings/tokens" { "Done" } }
        },
    );
    page(StatusCode::CREATED, body, Vec::new())
}

async fn own_token(state: &AppState, user: &PulseUser, id: &str) -> Result<Option<PulseTokenRecord>, Response> {
    Ok(list(state, user).await?.into_iter().find(|t| t.id == id))
}

pub async fn confirm_revoke(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let user = match viewer(&state, &headers, None).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let token = match own_token(&state, &user, &id).await {
        Ok(Some(token)) if token.revoked_at.is_none() => token,
        Ok(_) => return not_found(&user, &csrf(&state, &headers).0),
        Err(response) => return response,
    };
    let (csrf_token, cookies) = csrf(&state, &headers);
    let body = frame(
        "Revoke a token",
        Some((&user, &csrf_token)),
        html! {
            p { "Revoke " strong { (token.name) } " (…" (token.hint) ")? Integrations using it stop working at once; this cannot be undone." }
            form method="post" action={ "/settings/tokens/" (token.id) "/revoke" } {
                input type="hidden" name="csrf" value=(csrf_token);
                div.actions {
                    a.button.secondary href="/settings/tokens" { "Cancel" }
                    button.danger type="submit" { "Revoke" }
                }
            }
        },
    );
    page(StatusCode::OK, body, cookies)
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (_, user) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    match state.store.revoke_token(&user.id, &id, Utc::now()).await {
        Ok(_) => see_other("/settings/tokens?revoked=1", Vec::new()),
        Err(sitegpt_store::StoreError::NotFound) => not_found(&user, &csrf(&state, &headers).0),
        Err(e) => server_error("could not revoke a token", &e),
    }
}

fn not_found(user: &PulseUser, csrf: &str) -> Response {
    let body = frame(
        "Not found",
        Some((user, csrf)),
        html! {
            p { "You have no such token. " a href="/settings/tokens" { "Back to your tokens" } }
        },
    );
    page(StatusCode::NOT_FOUND, body, Vec::new())
}

/// Settings → MCP: how AI clients connect to SitePulse's MCP endpoint, and
/// the apps connected through OAuth, each revocable.
pub async fn mcp(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let user = match viewer(&state, &headers, Some("/settings/mcp")).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let apps = match state.store.grants_of(&user.id).await {
        Ok(apps) => apps,
        Err(e) => {
            return server_error("could not list connected apps", &e);
        }
    };
    let revoked = query.as_deref() == Some("revoked=1");
    let (csrf_token, cookies) = csrf(&state, &headers);
    let endpoint = format!("{}/mcp", state.public_url);
    let body = frame_at(
        "/settings/mcp",
        "MCP",
        Some((&user, &csrf_token)),
        html! {
            @if revoked { p.notice role="status" { "The app was disconnected; its tokens no longer work." } }
            h2 { "Connect an AI client" }
            p { "SitePulse's MCP server is at " code { (endpoint) } " (Streamable HTTP). Its tools are the API v1 routes: "
                code { "teams_list" } ", " code { "sites_list" } ", " code { "sites_create" } ", " code { "checks_run" } ", "
                code { "issues_list" } " and the rest, each under its route's scope." }
            h2 { "Sign in from the client (OAuth)" }
            p { "Give the client the endpoint and nothing else. It registers itself, sends you here to sign in and \
                 approve the scopes it asks for (untick what it does not need), and receives tokens for "
                code { (endpoint) } " only, renewed while you use it." }
            h2 { "With a scoped token" }
            p { "Or create a token under " a href="/settings/tokens" { "API tokens" } " with the scopes the client needs, and give \
                 the client the endpoint with the header " code { "Authorization: Bearer spat_…" } ". The client sees only \
                 the tools its token's scopes allow, and every call passes the same checks as the API." }
            h2 { "Connected apps" }
            @if apps.is_empty() {
                p.empty { "No app is connected." }
            } @else {
                div.table-wrap {
                    table.tokens {
                        thead {
                            tr {
                                th scope="col" { "App" }
                                th scope="col" { "Scopes" }
                                th scope="col" { "Connected" }
                                th scope="col" { "Last used" }
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        }
                        tbody {
                            @for app in &apps {
                                tr {
                                    th scope="row" { (app.client_name) " " span.hint { (app.resource.url(&state.public_url)) } }
                                    td data-label="Scopes" {
                                        @for (i, scope) in app.scopes.iter().enumerate() { @if i > 0 { " " } code { (scope.as_str()) } }
                                    }
                                    td.date data-label="Connected" { (when(app.created_at)) }
                                    td.date data-label="Last used" { (when(app.last_used_at)) }
                                    td.row-actions {
                                        form method="post" action={ "/settings/mcp/apps/" (app.id) "/revoke" } {
                                            input type="hidden" name="csrf" value=(csrf_token);
                                            button.danger type="submit" aria-label={ "Disconnect " (app.client_name) } { "Disconnect" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    page(StatusCode::OK, body, cookies)
}

/// `POST /settings/mcp/apps/{id}/revoke`: disconnects an app (its grant and
/// every token issued from it).
pub async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (_, user) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    match state.store.revoke_grant(&user.id, &id, Utc::now()).await {
        Ok(()) => {
            tracing::info!(grant_id = %id, user_id = %user.id, "app disconnected");
            see_other("/settings/mcp?revoked=1", Vec::new())
        }
        Err(sitegpt_store::StoreError::NotFound) => {
            let (csrf_token, _) = csrf(&state, &headers);
            not_found(&user, &csrf_token)
        }
        Err(e) => server_error("could not disconnect an app", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::after_sign_in;

    #[test]
    fn after_signing_in_only_paths_of_this_server_are_followed() {
        assert_eq!(
            after_sign_in(Some("/oauth/authorize?client_id=oc_1&scope=a%20b")),
            "/oauth/authorize?client_id=oc_1&scope=a%20b"
        );
        assert_eq!(after_sign_in(Some("/settings/mcp")), "/settings/mcp");
        for elsewhere in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "evil",
            "/ x",
            "",
        ] {
            assert_eq!(after_sign_in(Some(elsewhere)), "/settings/tokens", "{elsewhere:?}");
        }
        assert_eq!(after_sign_in(None), "/settings/tokens");
    }
}
