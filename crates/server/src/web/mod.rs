//! Server-rendered pages: sign-up, sign-in, sign-out, e-mail verification,
//! the device approval page, and the home page. Sessions live in an
//! HttpOnly, SameSite=Lax cookie (Secure when the public URL is https) whose
//! value is stored only as a hash; every form carries a CSRF token (the
//! session's, or a double-submit cookie before sign-in) and cross-origin
//! posts are refused.

pub mod agents;
pub mod apps;
pub mod assets;
pub mod auth;
pub mod authorize;
pub mod chatbots;
pub mod device;
pub mod docs;
pub mod home;
pub mod invitations;
pub mod layout;
pub mod mcp;
pub mod members;
pub mod password;
pub mod security;
pub mod settings;
pub mod tokens;

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Utc;
use serde::de::DeserializeOwned;
use sitegpt_access::Role;
use sitegpt_store::{Account, Session};

pub use crate::conn::{ClientAddr, client_addr};
use crate::request::request_id;
pub use crate::secret::{constant_time_eq, hash_secret, random_secret};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "sitegpt_session";
pub const CSRF_COOKIE: &str = "sitegpt_csrf";
pub const SESSION_DAYS: i64 = 14;

/// The value of one cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers).get(name).map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value for the whole site: HttpOnly, SameSite=Lax, Secure
/// when the public URL is https; `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_url.starts_with("https://"))
        .max_age(time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are base62")
}

/// The longest `next` target followed.
const NEXT_MAX: usize = 4096;

/// Where a page sends a person when no (acceptable) `next` was given.
pub const DEFAULT_NEXT: &str = "/dashboard";

/// `303 See Other` to a path of this site. A target that cannot be a header
/// value (only possible through a bug, since `next` targets are checked by
/// [`safe_next`]) goes to the dashboard instead of failing the request.
pub fn redirect(to: &str) -> Response {
    let to = if HeaderValue::from_str(to).is_ok() { to } else { DEFAULT_NEXT };
    Redirect::to(to).into_response()
}

/// A `next` target is followed only when it is a path on this site;
/// anything else falls back to the dashboard.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => DEFAULT_NEXT.to_owned(),
    }
}

/// A path on this site: one `/` followed by neither `/` nor `\`, printable
/// ASCII only, and none of that changes when the text is percent-decoded
/// (once, twice, …): browsers drop tabs and newlines and treat `\` as `/`
/// before resolving, so `/%09/evil.example` would leave the site. The query
/// may decode to anything (an authorization request's `scope` holds
/// spaces), and may be long (its `redirect_uri`, `state`, …).
fn is_local_path(raw: &str) -> bool {
    if raw.len() > NEXT_MAX || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let mut text = std::borrow::Cow::Borrowed(raw);
    for _ in 0..4 {
        let bytes = text.as_bytes();
        let shape_ok = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
        let path = text.split('?').next().unwrap_or_default();
        let chars_ok = !path.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
        if !shape_ok || !chars_ok {
            return false;
        }
        let decoded: Vec<u8> = percent_decode(text.as_bytes());
        if decoded == text.as_bytes() {
            return true;
        }
        text = std::borrow::Cow::Owned(String::from_utf8_lossy(&decoded).into_owned());
    }
    // Still changing after four rounds of decoding: no honest link does that.
    false
}

/// `%XX` sequences decoded; everything else as is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && let (Some(hi), Some(lo)) =
                (input.get(i + 1).copied().and_then(hex), input.get(i + 2).copied().and_then(hex))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// Why a page could not be served; rendered as a page, never as JSON.
#[derive(Debug)]
pub enum WebError {
    Csrf,
    NotFound,
    RateLimited(Duration),
    BadRequest(String),
    /// The form did not arrive within the body timeout.
    Timeout,
    Internal(String),
    /// A page for signed-in people only: sign in, then come back here.
    SignInFirst(String),
}

impl From<sitegpt_store::StoreError> for WebError {
    fn from(e: sitegpt_store::StoreError) -> Self {
        match e {
            // Gone between reading and writing (another tab, another person).
            sitegpt_store::StoreError::NotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            WebError::SignInFirst(here) => return sign_in_first(here),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Reload the page and try again. (The form's security token did not match.)".to_owned(),
            ),
            WebError::NotFound => {
                (StatusCode::NOT_FOUND, "Page not found", "There is nothing at this address.".to_owned())
            }
            WebError::RateLimited(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Wait {} seconds, then try again.", wait.as_secs().max(1)),
            ),
            WebError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "The form took too long to arrive",
                "Check your connection and send the form again.".to_owned(),
            ),
            WebError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "Something is wrong with this request", message.clone())
            }
            WebError::Internal(cause) => {
                tracing::error!(%cause, "internal error on a page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    format!("Try again in a moment. If it keeps happening, report request {}.", request_id()),
                )
            }
        };
        let body = layout::message_page(title, &message, None);
        let mut response = html(status, body);
        if let WebError::RateLimited(wait) = self
            && let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The signed-in user and their session, or none.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<SignedIn>);

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id_hash: [u8; 32],
    pub session: Session,
}

impl SignedIn {
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// This person as the audit log names them, from the request's address.
    pub fn actor(&self) -> sitegpt_store::Actor {
        crate::audit::actor(&self.session.user.id, None)
    }

    /// What the page header shows for this person.
    pub fn viewer(&self) -> layout::Viewer<'_> {
        layout::Viewer { user: &self.session.user, csrf: self.csrf(), here: "" }
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), WebError> {
        if constant_time_eq(presented, &self.session.csrf_token) { Ok(()) } else { Err(WebError::Csrf) }
    }
}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = WebError;

    #[tracing::instrument(name = "session", level = "debug", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(MaybeSession(None)) };
        let id_hash = hash_secret(&id);
        let session = state.store.session(id_hash, Utc::now()).await?;
        Ok(MaybeSession(session.map(|session| SignedIn { id_hash, session })))
    }
}

/// `s` as one component of a URL's query.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form body (`application/x-www-form-urlencoded`) parsed into `T`.
#[derive(Debug)]
pub struct WebForm<T>(pub T);

/// The body of a form post, checked: the right content type and no NULs.
async fn form_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<axum::body::Bytes, WebError> {
    let is_form = crate::request::media_type(request.headers()).as_deref() == Some("application/x-www-form-urlencoded");
    if !is_form {
        return Err(WebError::BadRequest("Send this form from its page.".into()));
    }
    let bytes = crate::request::read_body(request, state).await.map_err(|e| match e {
        crate::request::BodyError::TimedOut => WebError::Timeout,
        crate::request::BodyError::TooLarge => WebError::BadRequest("The form is too large.".into()),
        crate::request::BodyError::Unreadable(why) => {
            WebError::BadRequest(format!("The form could not be read: {why}"))
        }
    })?;
    if form_urlencoded::parse(&bytes).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(WebError::BadRequest("The form contains a NUL character; type the values again.".into()));
    }
    Ok(bytes)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = form_bytes(request, state).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(WebForm)
            .map_err(|e| WebError::BadRequest(format!("The form is incomplete: {e}")))
    }
}

/// A form body as its name–value pairs, in order, for forms with repeated
/// names (checkbox groups).
#[derive(Debug, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// The first value named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value named `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = form_bytes(request, state).await?;
        Ok(FormPairs(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

/// Refuses posts whose `Origin` is another site (a second line of defence
/// behind CSRF tokens and SameSite cookies).
pub fn check_origin(headers: &HeaderMap, state: &AppState) -> Result<(), WebError> {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        // Sandboxed frames, `data:` pages and some redirects post with
        // `Origin: null`; none of them is this site's page.
        Some(origin) if origin == origin_of(&state.public_url) => Ok(()),
        Some(_) => Err(WebError::Csrf),
    }
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Pages may load only this site's styles and scripts, may not be framed,
/// and post only to this site.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                           frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// An HTML page with `status`.
pub fn html(status: StatusCode, markup: maud::Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A page whose form, once posted, redirects to `target` (an OAuth client's
/// redirect URI, which `form-action` also governs). `target` is checked
/// printable ASCII; a source that cannot be a header keeps the strict policy.
pub fn html_redirecting_to(status: StatusCode, markup: maud::Markup, target: &str) -> Response {
    let mut response = html(status, markup);
    let Some(source) = crate::routes::oauth::authorization::form_action_source(target) else { return response };
    let policy = PAGE_POLICY.replace("form-action 'self'", &format!("form-action 'self' {source}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A page that shows a secret: never stored by the browser or a proxy.
pub fn secret_page(markup: maud::Markup) -> Response {
    let mut response = html(StatusCode::OK, markup);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `?done=…`: what a page just did, after its form redirected back.
#[derive(Debug, serde::Deserialize)]
pub struct DoneParams {
    pub done: Option<String>,
}

/// `?account=ID&done=…`: which of the person's teams a page is about, and
/// what its form just did.
#[derive(Debug, serde::Deserialize)]
pub struct TeamPageParams {
    pub account: Option<String>,
    pub done: Option<String>,
}

/// `?account=ID`: which of the person's teams a page is about.
#[derive(Debug, serde::Deserialize)]
pub struct TeamParams {
    pub account: Option<String>,
}

/// A dashboard form that only names its team (besides its CSRF token).
#[derive(Debug, serde::Deserialize)]
pub struct TeamForm {
    pub csrf: String,
    pub account: String,
}

/// The team a dashboard page acts in, with the person's role there.
#[derive(Debug, Clone)]
pub struct Team {
    /// Every team the person belongs to, oldest membership first.
    pub memberships: Vec<(Account, Role)>,
    pub account: Account,
    pub role: Role,
}

impl Team {
    /// `?account=…` for links, when the person has several teams to tell apart.
    pub fn query(&self) -> Option<String> {
        (self.memberships.len() > 1).then(|| format!("account={}", urlencode(&self.account.id)))
    }

    /// Links to `path` in each of the person's teams, this one marked; nothing
    /// for a person in one team.
    pub fn switcher(&self, path: &str) -> maud::Markup {
        maud::html! {
            @if self.memberships.len() > 1 {
                nav.toggles aria-label="Team" {
                    @for (t, _) in &self.memberships {
                        a href={ (path) "?account=" (urlencode(&t.id)) } aria-current=[(t.id == self.account.id).then_some("page")] { (t.name) }
                    }
                }
            }
        }
    }

    /// `path` in this team: `path?account=…` when it matters.
    pub fn link(&self, path: &str) -> String {
        match self.query() {
            Some(q) if path.contains('?') => format!("{path}&{q}"),
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        }
    }
}

/// The team named by `wanted` (an account id), or the first the person joined;
/// a page saying so when they are in no such team.
pub async fn pick_team(
    state: &AppState,
    signed_in: &SignedIn,
    wanted: Option<&str>,
) -> Result<Result<Team, Response>, WebError> {
    let user = &signed_in.session.user;
    let memberships = state.store.memberships(&user.id).await?;
    let chosen = match wanted.filter(|w| !w.is_empty()) {
        Some(id) => memberships.iter().find(|(account, _)| account.id == id),
        None => memberships.first(),
    };
    match chosen.cloned() {
        Some((account, role)) => Ok(Ok(Team { memberships, account, role })),
        None if memberships.is_empty() => {
            let body = no_team_page();
            Ok(Err(html(StatusCode::NOT_FOUND, layout::page("No team yet", Some(signed_in.viewer()), body))))
        }
        None => Ok(Err(html(
            StatusCode::NOT_FOUND,
            layout::message_page("No such team", "You are not a member of that team.", Some(signed_in.viewer())),
        ))),
    }
}

/// An API message as a sentence about the form: "name must not be empty"
/// → "Name must not be empty.", with the form's words for the expiry fields.
pub fn sentence(message: &str) -> String {
    let mut s = message.replace("expiresInDays", "the number of days").replace("expiresAt", "the expiry date");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The API's decision (steps 2 to 6) for the signed-in person acting in
/// `team` themselves: as a token that holds every scope, so what limits them
/// is their role, verified e-mail and the team's subscription, in the API's
/// order and with its messages.
pub fn decide_for_person(
    signed_in: &SignedIn,
    team: &Team,
    rule: sitegpt_access::RouteRule,
    target: sitegpt_access::Target<'_>,
) -> Result<(), sitegpt_access::Denial> {
    let now = Utc::now();
    let facts = sitegpt_access::TokenFacts {
        expires_at: now + chrono::Duration::days(1),
        revoked_at: None,
        scopes: sitegpt_access::ScopeSet::all(),
        chatbots: sitegpt_access::ChatbotRestriction::unrestricted(),
        role: Some(team.role),
        email_verified: signed_in.session.user.email_verified_at.is_some(),
        subscription_active: team.account.subscription == sitegpt_access::SubscriptionStatus::Active,
        audience: None,
        allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
    };
    sitegpt_access::policy::decide(sitegpt_access::Credential::Found(&facts), rule, target, now)
}

/// What a person in no team sees: how to join one.
fn no_team_page() -> maud::Markup {
    maud::html! {
        section.card {
            h1 { "You are not in a team yet" }
            p { "If a team invited you, verify your e-mail address (open the link we sent you) and you join it, "
                "or answer the invitation on " a href="/invitations" { "your invitations page" } "." }
        }
    }
}

/// The page to show instead of handing out a token when the person's
/// e-mail is not verified (tokens of unverified people do not work).
pub fn unverified_page(signed_in: &SignedIn) -> Option<Response> {
    if signed_in.session.user.email_verified_at.is_some() {
        return None;
    }
    let body = maud::html! {
        section.card {
            h1 { "Verify your e-mail first" }
            p { "Tokens only work for verified e-mail addresses. Open the link we sent to " (signed_in.session.user.email) ", then come back to this page." }
            form method="post" action="/verify-email/resend" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                div.actions.single { button.secondary type="submit" { "Send a new link" } }
            }
        }
    };
    Some(html(StatusCode::FORBIDDEN, layout::page("Verify your e-mail", Some(signed_in.viewer()), body)))
}

/// The signed-in person, or [`WebError::SignInFirst`] to come back to `here`.
pub fn require_sign_in(session: Option<SignedIn>, here: &str) -> Result<SignedIn, WebError> {
    session.ok_or_else(|| WebError::SignInFirst(here.to_owned()))
}

/// The signed-in person behind a form post: the post comes from this site
/// and carries the session's CSRF token; without a session, sign in first
/// and come back to `here`.
pub fn signed_in_post(
    headers: &HeaderMap,
    state: &AppState,
    session: Option<SignedIn>,
    csrf: &str,
    here: &str,
) -> Result<SignedIn, WebError> {
    check_origin(headers, state)?;
    let signed_in = require_sign_in(session, here)?;
    signed_in.check_csrf(csrf)?;
    Ok(signed_in)
}

/// Sends a signed-out visitor to sign in, then back to `here`.
pub fn sign_in_first(here: &str) -> Response {
    redirect(&format!("/login?next={}", urlencode(here)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_this_site() {
        for good in ["/device?user_code=BCDF-GHJK", "/dashboard/agents?account=acc_1", "/x%2Fy", "/a%3Db"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        let bad = [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "/\\/evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "",
            "dashboard",
            "/\t/evil.example/x",
            "/\r/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/a%20b",
            "/ok\nLocation: x",
            "/%09/evil.example/x",
            "/%0d/evil.example",
            "/%0A/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5C/evil.example",
            "/%5cevil.example",
            "/%2509/evil.example",
            "/%252F/evil.example",
            "/%25252F/evil.example",
            "/%2525252F/evil.example",
            "/caf\u{e9}",
            "/\u{200b}/evil.example",
        ];
        for bad in bad {
            assert_eq!(safe_next(Some(bad)), DEFAULT_NEXT, "{bad:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(NEXT_MAX)))), DEFAULT_NEXT);
        let authorize = "/oauth/authorize?response_type=code&scope=account%3Aread+chatbots%3Aread%20knowledge%3Aread\
                         &redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb&state=%20%09x";
        assert_eq!(safe_next(Some(authorize)), authorize);
        let long = format!("/oauth/authorize?state={}", "s".repeat(2000));
        assert_eq!(safe_next(Some(&long)), long);
        assert_eq!(safe_next(None), DEFAULT_NEXT);
    }

    #[test]
    fn redirects_never_fail() {
        let response = redirect("/a\nb");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], DEFAULT_NEXT);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; sitegpt_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://api.example.com"), "https://api.example.com");
        assert_eq!(origin_of("http://127.0.0.1:8080/base"), "http://127.0.0.1:8080");
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
