//! Account-level routes: renaming the account, members, integrations and
//! billing. Owners are protected: only owners make or unmake owners, and an
//! account always keeps one.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use sitegpt_access::id::{is_plausible_id, new_prefixed_id};
use sitegpt_access::{Role, Target};
use sitegpt_api_types::team::{
    AccountData, Billing, BillingData, CreateIntegration, Integration, IntegrationData, IntegrationType, Invitation,
    InvitationData, InviteMember, Member, MemberData, Plan, UpdateAccount, UpdateBilling, UpdateIntegration,
    UpdateMember,
};
use sitegpt_api_types::{AccountSummary, Deleted, Page};
use sitegpt_store::{IntegrationRecord, MemberRecord, StoreError};

use super::chatbots::ListParams;
use super::paging::{Position, page_in_memory, window};
use super::{created, ok};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::issue::check_name;
use crate::request::{JsonBody, QueryParams};
use crate::state::AppState;
use sitegpt_access::email::normalize_email;

pub async fn update_account(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<UpdateAccount>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let request = body.parse()?;
    check_name(&request.name).map_err(|message| ApiError::validation(vec!["name".into()], message))?;
    let account = state.store.rename_account(caller.account_id(), &request.name).await?;
    Ok(ok(AccountData {
        account: AccountSummary { id: account.id, name: account.name, subscription_status: account.subscription },
    }))
}

fn member_to_wire(m: &MemberRecord) -> Member {
    Member {
        user_id: m.user.id.clone(),
        email: m.user.email.clone(),
        email_verified: m.user.email_verified_at.is_some(),
        role: m.role,
        joined_at: m.joined_at,
    }
}

/// `limit` and `cursor` of a list.
fn paging(params: QueryParams<ListParams>) -> Result<(usize, Option<Position>), ApiError> {
    let params = params.parse()?;
    window(params.limit.as_deref(), params.cursor.as_deref())
}

pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let (limit, after) = paging(params)?;
    let members = state.store.members(caller.account_id()).await?;
    let (members, next_cursor) = page_in_memory(members, limit, after, |m| (m.joined_at, m.user.id.as_str()));
    Ok(ok(Page { items: members.iter().map(member_to_wire).collect(), next_cursor }))
}

/// Who changes the team, for the rules and the invitation e-mail.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub user_id: &'a str,
    pub user_email: &'a str,
    pub role: Role,
    /// The token acting, when a token acts (not a dashboard session).
    pub token_id: Option<&'a str>,
}

impl<'a> Actor<'a> {
    fn of(caller: &'a Caller) -> Actor<'a> {
        Actor {
            account_id: caller.account_id(),
            account_name: &caller.auth().account_name,
            user_id: caller.user_id(),
            user_email: &caller.auth().user_email,
            role: caller.role(),
            token_id: Some(caller.token_id()),
        }
    }

    /// This actor as the audit log names it.
    pub fn audited(&self) -> sitegpt_store::Actor {
        crate::audit::actor(self.user_id, self.token_id)
    }
}

/// Only owners may hand out or take away the owner role.
pub fn check_owner_change(actor_role: Role, from: Option<Role>, to: Option<Role>) -> Result<(), ApiError> {
    let touches_owner = from == Some(Role::Owner) || to == Some(Role::Owner);
    if touches_owner && actor_role != Role::Owner {
        return Err(ApiError::forbidden("Only owners can make, demote or remove owners."));
    }
    Ok(())
}

/// Invites `email` to the team with `role`, whether or not the address
/// has an account: the answer is the same either way (so it tells the
/// inviter nothing about who is a user), and the person joins only by
/// accepting. `Conflict` when they are already a member (the member list
/// shows that anyway) or already invited.
pub async fn invite_by_email(
    state: &AppState,
    actor: Actor<'_>,
    email: &str,
    role: Role,
) -> Result<sitegpt_store::Invitation, ApiError> {
    let email = normalize_email(email)
        .map_err(|_| ApiError::validation(vec!["email".into()], "email must be an e-mail address"))?;
    check_owner_change(actor.role, None, Some(role))?;
    if let Some(user) = state.store.user_by_email(&email).await?
        && state.store.member(actor.account_id, &user.id).await?.is_some()
    {
        return Err(ApiError::Conflict(format!("{email} is already a member.")));
    }
    invite(state, actor, email, role).await
}

pub async fn invite_member(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<InviteMember>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let request = body.parse()?;
    let invitation = invite_by_email(&state, Actor::of(&caller), &request.email, request.role).await?;
    let data = InvitationData {
        invitation: Invitation {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role,
            expires_at: invitation.expires_at,
        },
    };
    Ok(super::envelope(axum::http::StatusCode::ACCEPTED, data))
}

/// Stores an invitation and mails it.
async fn invite(
    state: &AppState,
    actor: Actor<'_>,
    email: String,
    role: Role,
) -> Result<sitegpt_store::Invitation, ApiError> {
    let now = Utc::now();
    let invitation = sitegpt_store::Invitation {
        id: new_prefixed_id("inv_"),
        account_id: actor.account_id.to_owned(),
        email: email.clone(),
        role,
        invited_by: actor.user_id.to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::days(INVITATION_DAYS),
    };
    let public = &state.public_url;
    let mail = sitegpt_store::OutgoingMail {
        to: email.clone(),
        subject: format!("You are invited to {} on SiteGPT", actor.account_name),
        body: format!(
            "Hello,\n\n{} invited you to join {} on SiteGPT as {role}.\n\n\
             If you have a SiteGPT account with this address, sign in and accept within {INVITATION_DAYS} days:\n\n\
             {public}/invitations\n\n\
             If you have none, create one with this address; you join once you verify it:\n\n\
             {public}/signup?invitation={id}&email={address}\n",
            actor.user_email,
            actor.account_name,
            id = invitation.id,
            address = form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>(),
        ),
        link: None,
        user_id: None,
        html: None,
        unsubscribe: None,
    };
    match state.store.create_invitation(invitation.clone(), mail, &actor.audited()).await {
        Ok(()) => state.mail.wake(),
        Err(StoreError::Conflict(_)) => return Err(ApiError::Conflict(format!("{email} is already invited."))),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(invitation_id = %invitation.id, role = %role, "member invited");
    Ok(invitation)
}

pub const INVITATION_DAYS: i64 = 7;

async fn load_member(state: &AppState, caller: &Caller, user_id: &str) -> Result<MemberRecord, ApiError> {
    let member = find_member(state, caller.account_id(), user_id).await?;
    let target = if member.is_some() { Target::Record { same_account: true, chatbot: None } } else { Target::Missing };
    caller.authorize(target)?;
    member.ok_or_else(ApiError::not_found)
}

/// The member `user_id` of the account, if the id could be one.
pub async fn find_member(state: &AppState, account_id: &str, user_id: &str) -> Result<Option<MemberRecord>, ApiError> {
    Ok(if is_plausible_id(user_id) { state.store.member(account_id, user_id).await? } else { None })
}

fn keep_an_owner(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Conflict("An account must keep at least one owner.".into()),
        other => other.into(),
    }
}

/// Gives `member` a new role, under the owner rules.
pub async fn change_role(
    state: &AppState,
    actor: Actor<'_>,
    member: &MemberRecord,
    role: Role,
) -> Result<MemberRecord, ApiError> {
    check_owner_change(actor.role, Some(member.role), Some(role))?;
    state.store.set_role(actor.account_id, &member.user.id, role, &actor.audited()).await.map_err(keep_an_owner)?;
    tracing::info!(user_id = %member.user.id, role = %role, "member role changed");
    state.store.member(actor.account_id, &member.user.id).await?.ok_or_else(ApiError::not_found)
}

/// Removes `member` (and revokes their tokens here), under the owner rules.
pub async fn remove(state: &AppState, actor: Actor<'_>, member: &MemberRecord) -> Result<(), ApiError> {
    check_owner_change(actor.role, Some(member.role), None)?;
    state
        .store
        .remove_member(actor.account_id, &member.user.id, Utc::now(), &actor.audited())
        .await
        .map_err(keep_an_owner)?;
    tracing::info!(user_id = %member.user.id, "member removed");
    Ok(())
}

pub async fn update_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: JsonBody<UpdateMember>,
) -> Result<Response, ApiError> {
    let member = load_member(&state, &caller, &user_id).await?;
    let request = body.parse()?;
    let member = change_role(&state, Actor::of(&caller), &member, request.role).await?;
    Ok(ok(MemberData { member: member_to_wire(&member) }))
}

pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Response, ApiError> {
    let member = load_member(&state, &caller, &user_id).await?;
    remove(&state, Actor::of(&caller), &member).await?;
    Ok(ok(Deleted { id: member.user.id, deleted: true }))
}

fn integration_kind(s: &str) -> IntegrationType {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(IntegrationType::Webhook)
}

fn integration_to_wire(i: &IntegrationRecord) -> Integration {
    let secrets: BTreeMap<String, String> = serde_json::from_str(&i.secrets).unwrap_or_default();
    Integration {
        id: i.id.clone(),
        kind: integration_kind(&i.kind),
        config: serde_json::from_str(&i.config).unwrap_or_default(),
        secret_fields: secrets.into_keys().collect(),
        created_at: i.created_at,
        updated_at: i.updated_at,
    }
}

fn check_integration(
    config: Option<&serde_json::Map<String, serde_json::Value>>,
    secrets: Option<&BTreeMap<String, String>>,
) -> Result<(), ApiError> {
    if let Some(config) = config
        && serde_json::to_string(config).map(|s| s.len()).unwrap_or(usize::MAX) > 16 * 1024
    {
        return Err(ApiError::validation(vec!["config".into()], "config must be at most 16 KiB"));
    }
    if let Some(path) = config.and_then(|c| secret_looking_key(c, vec!["config".into()])) {
        let name = match path.last() {
            Some(sitegpt_api_types::PathSegment::Key(name)) => name.clone(),
            _ => String::new(),
        };
        return Err(ApiError::validation(
            path,
            format!(
                "`{name}` looks like a secret, and config is returned to anyone who can read integrations: \
                 send it in `secrets` instead (stored, never returned)"
            ),
        ));
    }
    if let Some(secrets) = secrets {
        for (name, value) in secrets {
            let valid_name =
                !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid_name {
                return Err(ApiError::validation(
                    vec!["secrets".into(), name.as_str().into()],
                    "secret names are 1–64 letters, digits or _",
                ));
            }
            if value.len() > 4096 {
                return Err(ApiError::validation(
                    vec!["secrets".into(), name.as_str().into()],
                    "secret values are at most 4096 bytes",
                ));
            }
        }
    }
    Ok(())
}

/// The path of the first key in `value` (at any depth) whose name says it
/// holds a secret: `apiKey`, `secret`, `password`, `token`, or a name whose
/// last word is one of `key`, `secret`, `token`, `password` (`api_key`,
/// `clientSecret`, `bot-token`).
fn secret_looking_key(
    value: &serde_json::Map<String, serde_json::Value>,
    path: Vec<sitegpt_api_types::PathSegment>,
) -> Option<Vec<sitegpt_api_types::PathSegment>> {
    for (key, inner) in value {
        let mut here = path.clone();
        here.push(key.as_str().into());
        if is_secret_name(key) {
            return Some(here);
        }
        let found = match inner {
            serde_json::Value::Object(map) => secret_looking_key(map, here),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item {
                serde_json::Value::Object(map) => {
                    let mut at = here.clone();
                    at.push(i.into());
                    secret_looking_key(map, at)
                }
                _ => None,
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn is_secret_name(name: &str) -> bool {
    // Words split at `_`, `-`, `.`, spaces and lower-to-upper case changes.
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            words.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    words.extend((!current.is_empty()).then_some(current));
    let joined: String = words.concat();
    matches!(joined.as_str(), "apikey" | "secret" | "password" | "passwd" | "token")
        || words.last().is_some_and(|w| matches!(w.as_str(), "key" | "secret" | "token" | "password" | "passwd"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn list_integrations(
    State(state): State<AppState>,
    caller: Caller,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let (limit, after) = paging(params)?;
    let integrations = state.store.integrations(caller.account_id()).await?;
    let (integrations, next_cursor) = page_in_memory(integrations, limit, after, |i| (i.created_at, i.id.as_str()));
    Ok(ok(Page { items: integrations.iter().map(integration_to_wire).collect(), next_cursor }))
}

pub async fn create_integration(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<CreateIntegration>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let request = body.parse()?;
    check_integration(Some(&request.config), Some(&request.secrets))?;
    let now = Utc::now();
    let record = IntegrationRecord {
        id: new_prefixed_id("int_"),
        account_id: caller.account_id().to_owned(),
        kind: serde_json::to_value(request.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        config: to_json(&request.config)?,
        secrets: to_json(&request.secrets)?,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_integration(record.clone()).await?;
    let stored = state.store.integration(&record.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(created(IntegrationData { integration: integration_to_wire(&stored) }))
}

pub async fn update_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody<UpdateIntegration>,
) -> Result<Response, ApiError> {
    let integration = if is_plausible_id(&id) { state.store.integration(&id).await? } else { None };
    let target = match &integration {
        Some(i) => Target::Record { same_account: i.account_id == caller.account_id(), chatbot: None },
        None => Target::Missing,
    };
    caller.authorize(target)?;
    let mut integration = integration.ok_or_else(ApiError::not_found)?;
    let request = body.parse()?;
    if request == UpdateIntegration::default() {
        return Err(ApiError::validation(vec![], "give config or secrets to change"));
    }
    check_integration(request.config.as_ref(), request.secrets.as_ref())?;
    if let Some(config) = &request.config {
        integration.config = to_json(config)?;
    }
    if let Some(new_secrets) = request.secrets {
        let mut secrets: BTreeMap<String, String> = serde_json::from_str(&integration.secrets).unwrap_or_default();
        secrets.extend(new_secrets);
        integration.secrets = to_json(&secrets)?;
    }
    integration.updated_at = Utc::now();
    state.store.update_integration(integration.clone()).await?;
    let stored = state.store.integration(&integration.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(ok(IntegrationData { integration: integration_to_wire(&stored) }))
}

fn plan_of(s: &str) -> Plan {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(Plan::Free)
}

pub async fn billing(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let plan = plan_of(&state.store.plan(caller.account_id()).await?);
    Ok(ok(BillingData { billing: Billing { plan, subscription_status: caller.auth().subscription } }))
}

pub async fn update_billing(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody<UpdateBilling>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let request = body.parse()?;
    state.store.set_plan(caller.account_id(), request.plan.as_str()).await?;
    tracing::info!(plan = request.plan.as_str(), "plan changed");
    Ok(ok(BillingData { billing: Billing { plan: request.plan, subscription_status: caller.auth().subscription } }))
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;

    #[test]
    fn secret_looking_names() {
        for secret in [
            "apiKey",
            "api_key",
            "API_KEY",
            "apikey",
            "secret",
            "Secret",
            "password",
            "token",
            "clientSecret",
            "client_secret",
            "bot-token",
            "signingKey",
            "private.key",
            "webhook_token",
            "accessToken",
            "PASSWORD",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in ["channel", "url", "tokenUrl", "secretName", "monkey", "keyboard", "password_hint", "webhookUrl"] {
            assert!(!is_secret_name(plain), "{plain}");
        }
    }
}
