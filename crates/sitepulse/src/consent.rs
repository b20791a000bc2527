//! `GET /oauth/authorize` and its consent page, and `POST /oauth/authorize`,
//! the person's decision. The request is checked by the engine's shared
//! checks (client and redirect URI first, shown here when wrong; the rest
//! sent back to the client); SitePulse reads the scopes (its catalog; the
//! documentation's read-only combination when none is asked) and the
//! resource (`/api/v1` unless `/mcp` is named). The form carries the
//! request in hidden fields and is checked again, from the start, when it
//! is posted. An approval stores a grant with a one-minute code.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use sitegpt_access::device::RandomCode;
use sitegpt_access::oauth::{CODE_SECS, ResourceKind, redirect_host};
use sitegpt_access::sitepulse::{PRESETS, PulseResource, PulseScope, PulseScopes};
use sitegpt_server::routes::oauth::authorization::{Params, Refusal, back_to_client};
use sitegpt_store::OAuthClient;
use sitegpt_store::pulse::{NewPulseGrant, PulseUser};

use crate::api::AppState;
use crate::web::{csrf, frame, page, page_posting_to, posted, scope_choices, viewer};

/// A checked authorization request.
#[derive(Debug)]
struct AuthRequest {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    scopes: PulseScopes,
    code_challenge: String,
    resource: PulseResource,
    /// The request's own parameters, carried through the consent form.
    params: Vec<(&'static str, String)>,
}

/// The documentation's read-only combination ("Dashboards and monitoring
/// displays"), asked for when a client names no scope.
fn default_scopes() -> PulseScopes {
    PRESETS[0].scopes.iter().copied().collect()
}

async fn parse(state: &AppState, pairs: &[(String, String)]) -> Result<AuthRequest, Refusal> {
    let params = Params::new(pairs);
    let client_id = params.client_id()?;
    let client = match state.store.oauth_client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Err(Refusal::Page(
                "Unknown application",
                "SitePulse does not know the application that sent you here. It may need to register again.".into(),
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot load an OAuth client");
            return Err(Refusal::Page(
                "Something went wrong",
                "The application could not be looked up. Try again in a moment.".into(),
            ));
        }
    };
    let checked = params.check(client)?;
    let scopes = checked.scopes(default_scopes())?;
    let resource = checked.resource::<PulseResource>(&state.public_url)?;
    Ok(AuthRequest {
        redirect_uri: checked.redirect_uri,
        state: checked.state,
        scopes,
        code_challenge: checked.code_challenge,
        resource,
        params: checked.params,
        client: checked.client,
    })
}

/// A refusal: a page here, or back to the client.
fn refused(state: &AppState, refusal: Refusal) -> Response {
    refusal.redirect(&state.public_url).unwrap_or_else(|(title, message)| {
        page(StatusCode::BAD_REQUEST, frame(title, None, html! { p { (message) } }), Vec::new())
    })
}

fn consent_page(state: &AppState, user: &PulseUser, csrf: &str, r: &AuthRequest, error: Option<&str>) -> Markup {
    let name = &r.client.name;
    let host = redirect_host(&r.redirect_uri);
    frame(
        &format!("Allow {name} to access SitePulse?"),
        Some((user, csrf)),
        html! {
            div.warning role="note" {
                strong { "This application registered itself. " }
                "SitePulse has not verified its name. Continue only if you started this from " strong { (host) } "."
            }
            @if let Some(error) = error { p.alert role="alert" { (error) } }
            dl.facts {
                dt { "Application" } dd { (name) " (" code { (r.client.id) } ")" }
                dt { "Returns you to" } dd { strong { (host) } }
                dt { "For" } dd { code { (r.resource.url(&state.public_url)) } }
                dt { "Access lasts" } dd { "Until you disconnect it under Settings → MCP, or 90 days without use" }
                dt { "Signed in as" } dd { (user.email) }
            }
            p.hint { "It acts as you in every team you are in, within what each team lets you do." }
            form method="post" action="/oauth/authorize" {
                input type="hidden" name="csrf" value=(csrf);
                @for (param, value) in &r.params {
                    input type="hidden" name=(param) value=(value);
                }
                fieldset {
                    legend { "It will be able to" }
                    p.hint { "Untick anything it does not need." }
                    (scope_choices("grant_scope", r.scopes.iter(), r.scopes))
                }
                div.actions {
                    button.danger type="submit" name="decision" value="deny" { "Deny" }
                    button.primary type="submit" name="decision" value="approve" { "Approve" }
                }
            }
        },
    )
}

fn unverified(user: &PulseUser, csrf: &str) -> Response {
    let body = frame(
        "Verify your e-mail address first",
        Some((user, csrf)),
        html! { p { "SitePulse's API and MCP server act only for people whose e-mail address is verified. Verify yours, then start again from the application." } },
    );
    page(StatusCode::FORBIDDEN, body, Vec::new())
}

/// `GET /oauth/authorize`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let auth = match parse(&state, &pairs).await {
        Ok(auth) => auth,
        Err(refusal) => return refused(&state, refusal),
    };
    let user = match viewer(&state, &headers, Some(&format!("/oauth/authorize?{query}"))).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let (csrf_token, cookies) = csrf(&state, &headers);
    if user.email_verified_at.is_none() {
        return unverified(&user, &csrf_token);
    }
    let body = consent_page(&state, &user, &csrf_token, &auth, None);
    page_posting_to(StatusCode::OK, body, cookies, Some(&auth.redirect_uri))
}

/// `POST /oauth/authorize`: the person's decision.
pub async fn decide(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, user) = match posted(&state, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (csrf_token, _) = csrf(&state, &headers);
    if user.email_verified_at.is_none() {
        return unverified(&user, &csrf_token);
    }
    let auth = match parse(&state, &form.0).await {
        Ok(auth) => auth,
        Err(refusal) => return refused(&state, refusal),
    };
    let back =
        |pairs: &[(&str, &str)]| back_to_client(&state.public_url, &auth.redirect_uri, auth.state.as_deref(), pairs);
    match form.get("decision") {
        Some("deny") => {
            tracing::info!(client_id = %auth.client.id, user_id = %user.id, "authorization denied");
            return back(&[("error", "access_denied"), ("error_description", "The person denied the request.")]);
        }
        Some("approve") => {}
        _ => {
            let body = consent_page(&state, &user, &csrf_token, &auth, Some("Choose Approve or Deny."));
            return page_posting_to(StatusCode::BAD_REQUEST, body, Vec::new(), Some(&auth.redirect_uri));
        }
    }
    let mut chosen = PulseScopes::default();
    let mut error = None;
    for name in form.all("grant_scope") {
        match name.parse::<PulseScope>() {
            Ok(scope) if auth.scopes.contains(scope) => chosen.insert(scope),
            _ => error = Some(format!("`{name}` was not asked for.")),
        }
    }
    if chosen.is_empty() && error.is_none() {
        error = Some("Tick at least one permission, or deny the request.".to_owned());
    }
    if let Some(error) = error {
        let body = consent_page(&state, &user, &csrf_token, &auth, Some(&error));
        return page_posting_to(StatusCode::UNPROCESSABLE_ENTITY, body, Vec::new(), Some(&auth.redirect_uri));
    }
    let code = RandomCode::generate();
    let now = Utc::now();
    let grant = NewPulseGrant {
        client_id: auth.client.id.clone(),
        user_id: user.id.clone(),
        scopes: chosen,
        resource: auth.resource,
        redirect_uri: auth.redirect_uri.clone(),
        code_hash: code.hash(),
        code_challenge: auth.code_challenge.clone(),
        now,
        code_expires_at: now + Duration::seconds(CODE_SECS),
    };
    match state.store.create_grant(grant).await {
        Ok(grant_id) => {
            tracing::info!(%grant_id, client_id = %auth.client.id, user_id = %user.id, "authorization approved");
            back(&[("code", &code.expose())])
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a grant");
            let body = consent_page(&state, &user, &csrf_token, &auth, Some("Server error. Retry."));
            page_posting_to(StatusCode::INTERNAL_SERVER_ERROR, body, Vec::new(), Some(&auth.redirect_uri))
        }
    }
}
