//! The device approval page: a signed-in person enters (or confirms) the
//! code their CLI or agent shows, sees what is asked for, and approves or
//! denies it.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use sitegpt_access::Role;
use sitegpt_access::device::UserCode;
use sitegpt_access::expiry::DEFAULT_DAYS;
use sitegpt_store::{Account, DeviceAuthorization, DeviceDecision, DeviceStatus, StoreError};

use super::layout::{access_summary, alert, message_page, page, scope_list, team_choice};
use super::signed_in_post;
use super::urlencode;
use super::{MaybeSession, SignedIn, WebError, WebForm, client_addr, html, redirect, unverified_page};
use crate::ratelimit::{DEVICE_CODE, Limit};
use crate::routes::oauth::public_client;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CodeParams {
    user_code: Option<String>,
}

fn entry_page(signed_in: &SignedIn, value: &str, error: Option<&str>) -> Markup {
    page(
        "Connect a device",
        Some(signed_in.viewer().at("/device")),
        html! {
            section.card {
                h1 { "Connect a device" }
                p.lead { "Enter the code shown by the CLI or agent that wants access." }
                (alert(error))
                form method="get" action="/device" {
                    div.field {
                        label for="user_code" { "Code" }
                        input.code id="user_code" name="user_code" type="text" value=(value) autocomplete="off"
                            autocapitalize="characters" spellcheck="false" placeholder="BCDF-GHJK" maxlength="16" required
                            aria-describedby="code-hint";
                        p.hint id="code-hint" { "8 letters. Dashes and case do not matter." }
                    }
                    div.actions.single { button.primary type="submit" { "Continue" } }
                }
            }
        },
    )
}

struct Review<'a> {
    device: &'a DeviceAuthorization,
    /// `(id, name)` of the chatbots the request names that are in the selected team.
    chatbot_names: &'a [(String, String)],
    code: &'a UserCode,
    accounts: &'a [(Account, Role)],
    selected: &'a Account,
    role: Role,
    error: Option<&'a str>,
}

fn review_page(signed_in: &SignedIn, r: Review<'_>) -> Markup {
    let client_name = public_client(&r.device.client_id).map_or(r.device.client_id.as_str(), |c| c.name);
    let refused = r.device.scopes.difference(r.role.ceiling());
    let name =
        r.device.token_name.clone().unwrap_or_else(|| format!("{client_name} on {}", Utc::now().format("%Y-%m-%d")));
    page(
        "Approve access",
        Some(signed_in.viewer().at("/device")),
        html! {
            section.card.wide {
                h1 { "Allow " (client_name) " to access SiteGPT?" }
                p.lead { "Check that this code matches the one on your device: " span.code-shown { (r.code) } }
                (alert(r.error))
                p.summary { strong { (access_summary(r.device.scopes)) } }
                dl.facts {
                    dt { "Application" } dd { (client_name) " (" code { (r.device.client_id) } ")" }
                    dt { "Token name" } dd { (name) }
                    dt { "Team" } dd { (r.selected.name) " (your role: " (r.role) ")" }
                    dt { "Chatbots" } dd {
                        @if r.device.chatbots.is_restricted() {
                            "Only "
                            @for (i, id) in r.device.chatbots.ids().iter().enumerate() {
                                @if i > 0 { ", " }
                                @match r.chatbot_names.iter().find(|(bot, _)| bot == id) {
                                    Some((_, name)) => (name),
                                    None => { code { (id) } " (not in " (r.selected.name) ")" },
                                }
                            }
                        } @else { "All chatbots of the team" }
                    }
                    dt { "Expires" } dd { (DEFAULT_DAYS) " days after you approve (" ((Utc::now() + Duration::days(DEFAULT_DAYS)).format("%Y-%m-%d")) "), unless revoked first" }
                    dt { "Signed in as" } dd { (signed_in.session.user.email) }
                }
                details.scopes-detail open[!refused.is_empty()] {
                    summary #scopes-heading { "Every scope it asks for (" (r.device.scopes.iter().count()) ")" }
                    (scope_list(r.device.scopes, Some((refused, r.role)), "scopes-heading"))
                }
                @if !refused.is_empty() {
                    div.alert role="alert" {
                        "You cannot approve this request: your role (" (r.role) ") in " (r.selected.name) " does not permit "
                        (refused.to_space_separated()) ". Ask an owner, or start the login again with fewer scopes."
                    }
                }
                form method="post" action="/device" {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    input type="hidden" name="user_code" value=(r.code.normalized());
                    (team_choice("Account", r.accounts, &r.selected.id))
                    div.actions {
                        button.danger type="submit" name="decision" value="deny" { "Deny" }
                        button.primary type="submit" name="decision" value="approve" disabled[!refused.is_empty()] { "Approve" }
                    }
                }
            }
        },
    )
}

/// The names of the chatbots a request is limited to, among `account_id`'s.
async fn chatbot_names(
    state: &AppState,
    account_id: &str,
    device: &DeviceAuthorization,
) -> Result<Vec<(String, String)>, WebError> {
    let ids = device.chatbots.ids();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = sitegpt_store::ChatbotQuery {
        account_id: account_id.to_owned(),
        only: ids.to_vec(),
        limit: ids.len(),
        after: None,
    };
    Ok(state.store.list_chatbots(query).await?.into_iter().map(|bot| (bot.id, bot.name)).collect())
}

/// Counts a wrong code against the session and the address; refuses once
/// either has used up its tries.
async fn wrong_code(state: &AppState, keys: &[String]) -> Result<(), WebError> {
    Ok(state.limits.fail(&code_checks(keys)).await?)
}

fn code_checks(keys: &[String]) -> Vec<(Limit, &str)> {
    keys.iter().map(|key| (DEVICE_CODE, key.as_str())).collect()
}

fn limiter_keys(signed_in: &SignedIn, address: &str) -> [String; 2] {
    [format!("code-session:{}", hex(&signed_in.id_hash)), format!("code-addr:{address}")]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A looked-up code: pending, or the page that answers it.
enum Lookup {
    Pending(DeviceAuthorization, UserCode),
    Page(Response),
}

/// Looks the code up and answers every state but "pending" with its page.
async fn pending(state: &AppState, signed_in: &SignedIn, keys: &[String], raw: &str) -> Result<Lookup, WebError> {
    if let Some(wait) = state.limits.blocked(&code_checks(keys)).await? {
        return Err(WebError::RateLimited(wait));
    }
    let not_valid = "That code is not valid. Check it against the one on your device.";
    let Ok(code) = UserCode::parse(raw) else {
        wrong_code(state, keys).await?;
        return Ok(Lookup::Page(html(StatusCode::BAD_REQUEST, entry_page(signed_in, raw, Some(not_valid)))));
    };
    let Some(device) = state.store.device_by_user_code(code.normalized()).await? else {
        wrong_code(state, keys).await?;
        return Ok(Lookup::Page(html(StatusCode::NOT_FOUND, entry_page(signed_in, raw, Some(not_valid)))));
    };
    let v = Some(signed_in.viewer().at("/device"));
    if device.status != DeviceStatus::Pending {
        let msg = "This code was already used. Start the login again on your device to get a new one.";
        return Ok(Lookup::Page(html(StatusCode::GONE, message_page("This code was already used", msg, v))));
    }
    if Utc::now() >= device.expires_at {
        let msg = "Codes are valid for 10 minutes. Start the login again on your device to get a new one.";
        return Ok(Lookup::Page(html(StatusCode::GONE, message_page("This code has expired", msg, v))));
    }
    Ok(Lookup::Pending(device, code))
}

pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(params): Query<CodeParams>,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let Some(signed_in) = session else {
        let here = request.uri().path_and_query().map_or("/device".to_owned(), |p| p.to_string());
        return Ok(redirect(&format!("/login?next={}", urlencode(&here))));
    };
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let Some(raw) = params.user_code.filter(|c| !c.trim().is_empty()) else {
        return Ok(html(StatusCode::OK, entry_page(&signed_in, "", None)));
    };
    let keys = limiter_keys(&signed_in, &client_addr(request.extensions()));
    let (device, code) = match pending(&state, &signed_in, &keys, &raw).await? {
        Lookup::Pending(device, code) => (device, code),
        Lookup::Page(page) => return Ok(page),
    };
    let accounts = state.store.memberships(&signed_in.session.user.id).await?;
    let Some((selected, role)) = accounts.first().cloned() else {
        return Ok(html(
            StatusCode::FORBIDDEN,
            message_page("No team", "You are not a member of any team.", Some(signed_in.viewer().at("/device"))),
        ));
    };
    let names = chatbot_names(&state, &selected.id, &device).await?;
    let review = Review {
        device: &device,
        chatbot_names: &names,
        code: &code,
        accounts: &accounts,
        selected: &selected,
        role,
        error: None,
    };
    Ok(html(StatusCode::OK, review_page(&signed_in, review)))
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    user_code: String,
    account_id: String,
    decision: String,
}

pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    let address = client_addr(request.extensions());
    let WebForm(form) =
        <WebForm<DecisionForm> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    let signed_in = signed_in_post(&headers, &state, session, &form.csrf, "/device")?;
    if let Some(page) = unverified_page(&signed_in) {
        return Ok(page);
    }
    let keys = limiter_keys(&signed_in, &address);
    let (device, code) = match pending(&state, &signed_in, &keys, &form.user_code).await? {
        Lookup::Pending(device, code) => (device, code),
        Lookup::Page(page) => return Ok(page),
    };
    let user = &signed_in.session.user;
    let v = Some(signed_in.viewer().at("/device"));
    let decision = match form.decision.as_str() {
        "deny" => DeviceDecision::Deny,
        "approve" => {
            let accounts = state.store.memberships(&user.id).await?;
            let Some((account, role)) = accounts.iter().find(|(a, _)| a.id == form.account_id).cloned() else {
                return Err(WebError::BadRequest("Choose one of your teams.".into()));
            };
            let refused = device.scopes.difference(role.ceiling());
            let missing: Vec<String> = {
                let found = state.store.existing_chatbots(&account.id, device.chatbots.ids()).await?;
                device.chatbots.ids().iter().filter(|id| !found.contains(id)).cloned().collect()
            };
            if !refused.is_empty() || !missing.is_empty() {
                let error = if refused.is_empty() {
                    format!("These chatbots are not in {}: {}.", account.name, missing.join(", "))
                } else {
                    format!("Your role ({role}) in {} does not permit {}.", account.name, refused.to_space_separated())
                };
                let names = chatbot_names(&state, &account.id, &device).await?;
                let review = Review {
                    device: &device,
                    chatbot_names: &names,
                    code: &code,
                    accounts: &accounts,
                    selected: &account,
                    role,
                    error: Some(&error),
                };
                return Ok(html(StatusCode::FORBIDDEN, review_page(&signed_in, review)));
            }
            DeviceDecision::Approve { user_id: user.id.clone(), account_id: account.id }
        }
        _ => return Err(WebError::BadRequest("Choose Approve or Deny.".into())),
    };
    let approving = matches!(decision, DeviceDecision::Approve { .. });
    let decided = state.store.decide_device(&device.id, decision, Utc::now()).await;
    // Polls answered from memory must see the decision at once.
    state.poll_memo.forget_all();
    match decided {
        Ok(_) => {}
        Err(StoreError::Conflict(why)) => {
            return Ok(html(StatusCode::GONE, message_page("This code can no longer be used", &why, v)));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(device_id = %device.id, user_id = %user.id, approved = approving, "device authorization decided");
    let (title, message) = if approving {
        ("Access approved", "You can close this page and return to your device; it will finish signing in by itself.")
    } else {
        ("Access denied", "The device was not given access. You can close this page.")
    };
    Ok(html(StatusCode::OK, message_page(title, message, v)))
}
