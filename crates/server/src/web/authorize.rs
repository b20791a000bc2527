//! `GET /oauth/authorize` and its consent page (RFC 6749 §4.1.1–4.1.2, PKCE
//! `S256` only, RFC 8707 `resource`, RFC 9207 `iss`).
//!
//! The client and its redirect URI are checked first, and while either is
//! wrong the answer is a page here, never a redirect (an open redirector
//! otherwise). Every later error goes back to the client's redirect URI with
//! `error`, `state` and `iss`. The consent form carries the request in hidden
//! fields and is checked again, from the start, when it is posted.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use sitegpt_access::device::RandomCode;
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::oauth::{CODE_SECS, Resource, redirect_host};
use sitegpt_access::{AccessLevel, ChatbotRestriction, Role, ScopeSet};
use sitegpt_store::{Account, Chatbot, ChatbotQuery, NewGrant, OAuthClient};

use super::layout::grouped;
use super::layout::{alert, message_page, page, team_choice};
use super::{
    FormPairs, MaybeSession, SignedIn, WebError, html, html_redirecting_to, sign_in_first, signed_in_post,
    unverified_page,
};
use crate::clients::ClientError;
use crate::issue::CHATBOTS_MAX;
use crate::routes::oauth::authorization::{self, Params, Refusal};
use crate::state::AppState;

/// Chatbots offered on the consent page.
const CHATBOTS_SHOWN: usize = 100;

/// A checked authorization request.
#[derive(Debug)]
struct AuthRequest {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    scopes: ScopeSet,
    code_challenge: String,
    resource: Resource,
    /// The request's own parameters, to carry through the consent form.
    params: Vec<(&'static str, String)>,
}

fn back_to_client(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    authorization::back_to_client(&state.public_url, redirect_uri, client_state, pairs)
}

/// The refusal as a page here or a redirect back to the client.
fn refused(refusal: Refusal, state: &AppState, viewer: Option<&SignedIn>) -> Response {
    refusal.redirect(&state.public_url).unwrap_or_else(|(title, message)| {
        html(StatusCode::BAD_REQUEST, message_page(title, &message, viewer.map(SignedIn::viewer)))
    })
}

/// Checks an authorization request: the shared checks, then what SiteGPT's
/// scopes (Standard when none is asked) and resources (API v2 by default) are.
async fn parse(state: &AppState, pairs: &[(String, String)]) -> Result<AuthRequest, Refusal> {
    let params = Params::new(pairs);
    let client_id = params.client_id()?;
    let page = |title: &'static str, message: &str| Refusal::Page(title, message.to_owned());
    let client = state.clients.find(client_id).await.map_err(|e| match e {
        ClientError::Unknown(_) => page(
            "Unknown application",
            "This server does not know the application that sent you here. It may need to register again.",
        ),
        ClientError::Document { .. } => Refusal::Page("This application cannot be used", e.to_string()),
        ClientError::Store(e) => {
            tracing::error!(error = %e, "cannot load an OAuth client");
            page("Something went wrong", "The application could not be looked up. Try again in a moment.")
        }
    })?;
    let checked = params.check(client)?;
    let scopes = checked.scopes(AccessLevel::Standard.scopes())?;
    let resource = checked.resource::<Resource>(&state.public_url)?;
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

struct Consent<'a> {
    request: &'a AuthRequest,
    accounts: &'a [(Account, Role)],
    selected: &'a Account,
    role: Role,
    chatbots: &'a [Chatbot],
    error: Option<&'a str>,
}

fn consent_page(state: &AppState, signed_in: &SignedIn, c: Consent<'_>) -> Markup {
    let r = c.request;
    let name = &r.client.name;
    let host = redirect_host(&r.redirect_uri);
    let beyond_role = r.scopes.difference(c.role.ceiling());
    page(
        "Authorize application",
        Some(signed_in.viewer()),
        html! {
            section.card.wide {
                h1 { "Allow " (name) " to access SiteGPT?" }
                div.warning role="note" {
                    strong { "This application registered itself. " }
                    "SiteGPT has not verified its name. Continue only if you started this from "
                    strong { (host) } "."
                }
                (alert(c.error))
                dl.facts {
                    dt { "Application" } dd { (name) " (" code { (r.client.id) } ")" }
                    dt { "Returns you to" } dd { strong { (host) } }
                    dt { "For" } dd { code { (r.resource.url(&state.public_url)) } }
                    dt { "Access lasts" } dd { "Until you revoke it under Connected apps, or 90 days without use" }
                    dt { "Signed in as" } dd { (signed_in.session.user.email) }
                }
                form method="post" action="/oauth/authorize" {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    @for (param, value) in &r.params {
                        input type="hidden" name=(param) value=(value);
                    }
                    (team_choice("Team", c.accounts, &c.selected.id))
                    fieldset {
                        legend { "It will be able to" }
                        p.hint { "Untick anything it does not need." }
                        ul.scopes {
                            @for (resource, scopes) in grouped(r.scopes) {
                                li {
                                    span.resource { (resource.label()) }
                                    ul.grants {
                                        @for scope in scopes {
                                            @if beyond_role.contains(scope) {
                                                li.refused { label.grant {
                                                    input type="checkbox" disabled;
                                                    span { (scope.description()) " (" code { (scope) } ") — your role (" (c.role) ") cannot grant this" }
                                                } }
                                            } @else {
                                                li { label.grant {
                                                    input type="checkbox" name="grant_scope" value=(scope.as_str()) checked;
                                                    span { (scope.description()) " (" code { (scope) } ")" }
                                                } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !c.chatbots.is_empty() {
                        fieldset {
                            legend { "Chatbots" }
                            p.hint { "Tick chatbots to allow only those; tick none to allow every chatbot you can reach." }
                            ul.checks {
                                @for chatbot in c.chatbots {
                                    li { label { input type="checkbox" name="chatbot_id" value=(chatbot.id); (chatbot.name) span.hint { (chatbot.id) } } }
                                }
                            }
                        }
                    }
                    div.actions {
                        button.danger type="submit" name="decision" value="deny" { "Deny" }
                        button.primary type="submit" name="decision" value="approve" { "Approve" }
                    }
                }
            }
        },
    )
}

/// The request as the query string has it.
fn query_pairs(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()).into_owned().collect()
}

async fn chatbots_of(state: &AppState, account: &Account) -> Result<Vec<Chatbot>, WebError> {
    let query = ChatbotQuery { account_id: account.id.clone(), only: Vec::new(), limit: CHATBOTS_SHOWN, after: None };
    Ok(state.store.list_chatbots(query).await?)
}

/// The person's teams, the one chosen (`wanted`, else the first) and their
/// role there; `None` when they are in no team.
async fn teams(
    state: &AppState,
    signed_in: &SignedIn,
    wanted: Option<&str>,
) -> Result<Option<(Vec<(Account, Role)>, Account, Role)>, WebError> {
    let accounts = state.store.memberships(&signed_in.session.user.id).await?;
    let chosen = wanted.and_then(|id| accounts.iter().find(|(a, _)| a.id == id)).or(accounts.first()).cloned();
    Ok(chosen.map(|(account, role)| (accounts, account, role)))
}

fn no_team(signed_in: &SignedIn) -> Response {
    html(StatusCode::FORBIDDEN, message_page("No team", "You are not a member of any team.", Some(signed_in.viewer())))
}

/// `GET /oauth/authorize`.
pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    request: Request,
) -> Result<Response, WebError> {
    let auth = match parse(&state, &query_pairs(&request)).await {
        Ok(auth) => auth,
        Err(refusal) => return Ok(refused(refusal, &state, session.as_ref())),
    };
    let Some(signed_in) = session else {
        let here = request.uri().path_and_query().map_or("/oauth/authorize".to_owned(), |p| p.to_string());
        return Ok(sign_in_first(&here));
    };
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let Some((accounts, selected, role)) = teams(&state, &signed_in, None).await? else {
        return Ok(no_team(&signed_in));
    };
    let chatbots = chatbots_of(&state, &selected).await?;
    let consent =
        Consent { request: &auth, accounts: &accounts, selected: &selected, role, chatbots: &chatbots, error: None };
    Ok(html_redirecting_to(StatusCode::OK, consent_page(&state, &signed_in, consent), &auth.redirect_uri))
}

/// `POST /oauth/authorize`: the person's decision.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    form: FormPairs,
) -> Result<Response, WebError> {
    let csrf = form.get("csrf").unwrap_or_default().to_owned();
    let signed_in = signed_in_post(&headers, &state, session, &csrf, "/dashboard")?;
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let auth = match parse(&state, &form.0).await {
        Ok(auth) => auth,
        Err(refusal) => return Ok(refused(refusal, &state, Some(&signed_in))),
    };
    let back = |pairs: &[(&str, &str)]| back_to_client(&state, &auth.redirect_uri, auth.state.as_deref(), pairs);
    match form.get("decision") {
        Some("deny") => {
            tracing::info!(client_id = %auth.client.id, user_id = %signed_in.session.user.id, "authorization denied");
            return Ok(back(&[("error", "access_denied"), ("error_description", "The person denied the request.")]));
        }
        Some("approve") => {}
        _ => return Err(WebError::BadRequest("Choose Approve or Deny.".into())),
    }
    let Some((accounts, account, role)) = teams(&state, &signed_in, form.get("account_id")).await? else {
        return Ok(no_team(&signed_in));
    };
    if form.get("account_id").is_some_and(|id| id != account.id) {
        return Err(WebError::BadRequest("Choose one of your teams.".into()));
    }
    let mut chosen = ScopeSet::default();
    for name in form.all("grant_scope") {
        match name.parse::<sitegpt_access::Scope>() {
            Ok(scope) if auth.scopes.contains(scope) => chosen.insert(scope),
            _ => return Err(WebError::BadRequest(format!("`{name}` was not asked for."))),
        }
    }
    let chatbot_ids = form.all("chatbot_id");
    let error = if chosen.is_empty() {
        Some("Tick at least one permission, or deny the request.".to_owned())
    } else if !chosen.difference(role.ceiling()).is_empty() {
        Some(format!(
            "Your role ({role}) in {} does not permit {}.",
            account.name,
            chosen.difference(role.ceiling()).to_space_separated()
        ))
    } else if chatbot_ids.len() > CHATBOTS_MAX {
        Some(format!("Choose at most {CHATBOTS_MAX} chatbots."))
    } else {
        let found = state.store.existing_chatbots(&account.id, &chatbot_ids).await?;
        let missing: Vec<&String> = chatbot_ids.iter().filter(|id| !found.contains(id)).collect();
        (!missing.is_empty()).then(|| {
            format!(
                "These chatbots are not in {}: {}.",
                account.name,
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    };
    if let Some(error) = error {
        let chatbots = chatbots_of(&state, &account).await?;
        let consent = Consent {
            request: &auth,
            accounts: &accounts,
            selected: &account,
            role,
            chatbots: &chatbots,
            error: Some(&error),
        };
        let page = consent_page(&state, &signed_in, consent);
        return Ok(html_redirecting_to(StatusCode::UNPROCESSABLE_ENTITY, page, &auth.redirect_uri));
    }
    let code = RandomCode::generate();
    let now = Utc::now();
    let grant_id = new_id(IdKind::Grant);
    state
        .store
        .create_grant(
            NewGrant {
                id: grant_id.clone(),
                client_id: auth.client.id.clone(),
                user_id: signed_in.session.user.id.clone(),
                account_id: account.id.clone(),
                scopes: chosen,
                chatbots: ChatbotRestriction::from_ids(chatbot_ids),
                resource: auth.resource,
                redirect_uri: auth.redirect_uri.clone(),
                code_hash: code.hash(),
                code_challenge: auth.code_challenge.clone(),
                now,
                code_expires_at: now + Duration::seconds(CODE_SECS),
            },
            &signed_in.actor(),
        )
        .await?;
    tracing::info!(%grant_id, client_id = %auth.client.id, user_id = %signed_in.session.user.id, "authorization approved");
    Ok(back(&[("code", &code.expose())]))
}
