//! The audit log: what changed, who changed it, when and from where.
//!
//! An engine writes the event of a change **in the transaction of the
//! change**: the event is built here from the change's own facts and the
//! [`Actor`] its caller names, so both engines record the same thing, and a
//! change that rolls back leaves no event (and an event that cannot be
//! written rolls the change back). [`crate::Store::record_event`] writes the
//! few events that change nothing else: a failed sign-in, a token refused
//! for its address.
//!
//! Events never hold a secret: no token, code, password or session id, only
//! ids, names and the client's address and `User-Agent`.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{Role, SubscriptionStatus};

use crate::{Grant, Invitation, NewGrant, NewToken, TokenRecord};

/// What happened. The names are the API's `action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    TokenCreated,
    TokenRotated,
    TokenRevoked,
    /// Reported as published by a secret scanner, and revoked.
    TokenLeakReported,
    /// A request from an address the token's allowlist does not cover.
    TokenAddressRefused,
    GrantCreated,
    GrantRevoked,
    /// A refresh token reported as published; its grant revoked.
    GrantLeakReported,
    SignedIn,
    SignInFailed,
    PasswordChanged,
    PasswordReset,
    MemberInvited,
    MemberRoleChanged,
    MemberRemoved,
    SubscriptionChanged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 16] = [
        AuditAction::TokenCreated,
        AuditAction::TokenRotated,
        AuditAction::TokenRevoked,
        AuditAction::TokenLeakReported,
        AuditAction::TokenAddressRefused,
        AuditAction::GrantCreated,
        AuditAction::GrantRevoked,
        AuditAction::GrantLeakReported,
        AuditAction::SignedIn,
        AuditAction::SignInFailed,
        AuditAction::PasswordChanged,
        AuditAction::PasswordReset,
        AuditAction::MemberInvited,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberRemoved,
        AuditAction::SubscriptionChanged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRotated => "token.rotated",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::TokenLeakReported => "token.leak_reported",
            AuditAction::TokenAddressRefused => "token.address_refused",
            AuditAction::GrantCreated => "oauth_grant.created",
            AuditAction::GrantRevoked => "oauth_grant.revoked",
            AuditAction::GrantLeakReported => "oauth_grant.leak_reported",
            AuditAction::SignedIn => "user.signed_in",
            AuditAction::SignInFailed => "user.sign_in_failed",
            AuditAction::PasswordChanged => "user.password_changed",
            AuditAction::PasswordReset => "user.password_reset",
            AuditAction::MemberInvited => "member.invited",
            AuditAction::MemberRoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::SubscriptionChanged => "subscription.changed",
        }
    }

    /// The action named `name`, if there is one.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The part before the dot: `token`, `oauth_grant`, `user`, `member`,
    /// `subscription`.
    pub fn family(self) -> &'static str {
        self.as_str().split_once('.').map_or(self.as_str(), |(family, _)| family)
    }

    /// A short phrase for people: "Token created".
    pub const fn describe(self) -> &'static str {
        match self {
            AuditAction::TokenCreated => "Token created",
            AuditAction::TokenRotated => "Token rotated",
            AuditAction::TokenRevoked => "Token revoked",
            AuditAction::TokenLeakReported => "Token found in public and revoked",
            AuditAction::TokenAddressRefused => "Token refused for its address",
            AuditAction::GrantCreated => "App connected",
            AuditAction::GrantRevoked => "App disconnected",
            AuditAction::GrantLeakReported => "App's refresh token found in public; app disconnected",
            AuditAction::SignedIn => "Signed in",
            AuditAction::SignInFailed => "Failed sign-in",
            AuditAction::PasswordChanged => "Password changed",
            AuditAction::PasswordReset => "Password reset by e-mail link",
            AuditAction::MemberInvited => "Member invited",
            AuditAction::MemberRoleChanged => "Role changed",
            AuditAction::MemberRemoved => "Member removed",
            AuditAction::SubscriptionChanged => "Subscription changed",
        }
    }
}

/// Why something was done, when it is not simply that the actor asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A secret scanner found the credential at `url`.
    LeakReported { url: String },
    /// The server itself saw a reason: a replayed code, a reused refresh
    /// token.
    Detected(&'static str),
}

/// Why a grant ends when its authorization code is used twice.
pub(crate) const REPLAYED_CODE: &str = "authorization code used twice";
/// Why a grant ends when a superseded refresh token is used after its grace.
pub(crate) const REUSED_REFRESH: &str = "superseded refresh token used again";

/// Events made by this process so far: orders events of the same
/// millisecond as they were made.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// `evt_` and the time, a sequence number and random characters, so that
/// ids sort as the events happened (on one node; across nodes, by time),
/// and the listing's order `(at, id)` is the order of events.
fn event_id(at: DateTime<Utc>) -> String {
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let random = new_id(IdKind::AuditEvent);
    let random = random.strip_prefix(IdKind::AuditEvent.prefix()).unwrap_or(&random);
    format!("evt_{:012x}{sequence:06x}{}", at.timestamp_millis().max(0), &random[..8])
}

/// Who makes a change and from where: a person (by a session or a token),
/// or a service (`admin`, `system`, `github-secret-scanning`). The change
/// names everything else its event holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<String>,
    /// The token the request carried, when it came with one.
    pub token_id: Option<String>,
    /// A non-person actor.
    pub service: Option<&'static str>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub reason: Option<Reason>,
}

impl Actor {
    /// A service acting on its own (the janitor, a test, the admin command).
    pub fn service(name: &'static str) -> Actor {
        Actor { service: Some(name), ..Actor::default() }
    }

    /// The actor of the changes the server makes by itself.
    pub fn system() -> Actor {
        Actor::service("system")
    }

    /// The person `user_id`, with no request around (the admin command acting
    /// as a user, tests).
    pub fn user(user_id: &str) -> Actor {
        Actor { user_id: Some(user_id.to_owned()), ..Actor::default() }
    }

    /// An event of this actor at `at`, concerning nothing yet.
    pub fn event(&self, action: AuditAction, at: DateTime<Utc>) -> AuditEvent {
        let mut details = Map::new();
        match &self.reason {
            Some(Reason::LeakReported { url }) => {
                details.insert("foundAt".into(), Value::String(url.clone()));
            }
            Some(Reason::Detected(cause)) => {
                details.insert("cause".into(), Value::String((*cause).to_owned()));
            }
            None => {}
        }
        AuditEvent {
            id: event_id(at),
            at,
            account_id: None,
            action,
            actor_user_id: self.user_id.clone(),
            actor_token_id: self.token_id.clone(),
            actor_service: self.service.map(str::to_owned),
            user_id: None,
            token_id: None,
            target_id: None,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            details,
            actor_email: None,
            user_email: None,
        }
    }

    /// The same actor, acting for `cause`.
    pub fn because(&self, cause: &'static str) -> Actor {
        Actor { reason: Some(Reason::Detected(cause)), ..self.clone() }
    }

    fn leak_reported(&self) -> bool {
        matches!(self.reason, Some(Reason::LeakReported { .. }))
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// `evt_…`
    pub id: String,
    pub at: DateTime<Utc>,
    /// `None` for events of a person rather than a team (sign-ins, passwords).
    pub account_id: Option<String>,
    pub action: AuditAction,
    pub actor_user_id: Option<String>,
    pub actor_token_id: Option<String>,
    pub actor_service: Option<String>,
    /// The person the event concerns: a token's owner, the member whose role
    /// changed, the one who signed in.
    pub user_id: Option<String>,
    /// The token the event concerns.
    pub token_id: Option<String>,
    /// Another record the event concerns: a grant, an invitation.
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Facts of the change: names, scopes, roles before and after.
    pub details: Map<String, Value>,
    /// Filled when read: the actor's and the concerned person's e-mail.
    pub actor_email: Option<String>,
    pub user_email: Option<String>,
}

impl AuditEvent {
    pub fn account(mut self, account_id: &str) -> AuditEvent {
        self.account_id = Some(account_id.to_owned());
        self
    }

    pub fn concerning(mut self, user_id: &str) -> AuditEvent {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn token(mut self, token_id: &str) -> AuditEvent {
        self.token_id = Some(token_id.to_owned());
        self
    }

    pub fn target(mut self, id: &str) -> AuditEvent {
        self.target_id = Some(id.to_owned());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> AuditEvent {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The details as stored: a JSON object.
    pub fn details_json(&self) -> String {
        Value::Object(self.details.clone()).to_string()
    }

    /// Details read back from storage (an object, or nothing).
    pub fn parse_details(stored: &str) -> Map<String, Value> {
        match serde_json::from_str(stored) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Whoever acted, with no other record: the person's id or the
    /// service's name.
    pub fn actor(&self) -> Option<&str> {
        self.actor_user_id.as_deref().or(self.actor_service.as_deref())
    }

    // --- the events of each change, for both engines ----------------------

    pub fn token_created(new: &NewToken, by: &Actor) -> AuditEvent {
        let mut event = by.event(AuditAction::TokenCreated, new.now);
        // A person whose approval made the token (a device login, an app)
        // is its actor even when the request came from the client.
        if event.actor_user_id.is_none() && event.actor_service.is_none() {
            event.actor_user_id = Some(new.user_id.clone());
        }
        let mut event = event
            .account(&new.account_id)
            .concerning(&new.user_id)
            .token(&new.id)
            .detail("name", new.name.as_str())
            .detail("via", new.created_via.as_str())
            .detail("scopes", new.scopes.to_space_separated())
            .detail("expiresAt", new.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        if new.allowed_ips.is_restricted() {
            event = event.detail("allowedIps", new.allowed_ips.to_stored());
        }
        event
    }

    pub fn token_rotated(token: &TokenRecord, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        AuditEvent::about_token(AuditAction::TokenRotated, token, by, at)
            .detail("expiresAt", token.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    pub fn token_revoked(token: &TokenRecord, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        let action = if by.leak_reported() { AuditAction::TokenLeakReported } else { AuditAction::TokenRevoked };
        AuditEvent::about_token(action, token, by, at)
    }

    pub fn token_refused(token: &TokenRecord, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        AuditEvent::about_token(AuditAction::TokenAddressRefused, token, by, at)
    }

    fn about_token(action: AuditAction, token: &TokenRecord, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        by.event(action, at)
            .account(&token.account_id)
            .concerning(&token.user_id)
            .token(&token.id)
            .detail("name", token.name.as_str())
    }

    pub fn grant_created(grant: &NewGrant, client_name: &str, by: &Actor) -> AuditEvent {
        by.event(AuditAction::GrantCreated, grant.now)
            .account(&grant.account_id)
            .concerning(&grant.user_id)
            .target(&grant.id)
            .detail("client", client_name)
            .detail("clientId", grant.client_id.as_str())
            .detail("scopes", grant.scopes.to_space_separated())
    }

    pub fn grant_revoked(grant: &Grant, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        let action = if by.leak_reported() { AuditAction::GrantLeakReported } else { AuditAction::GrantRevoked };
        by.event(action, at)
            .account(&grant.account_id)
            .concerning(&grant.user_id)
            .target(&grant.id)
            .detail("client", grant.client_name.as_str())
            .detail("clientId", grant.client_id.as_str())
    }

    /// An event of a person's own (sign-in, password): no team.
    pub fn personal(action: AuditAction, user_id: &str, by: &Actor, at: DateTime<Utc>) -> AuditEvent {
        by.event(action, at).concerning(user_id)
    }

    pub fn member_invited(invitation: &Invitation, by: &Actor) -> AuditEvent {
        by.event(AuditAction::MemberInvited, invitation.created_at)
            .account(&invitation.account_id)
            .target(&invitation.id)
            .detail("email", invitation.email.as_str())
            .detail("role", invitation.role.as_str())
    }

    pub fn role_changed(account_id: &str, user_id: &str, from: Role, to: Role, by: &Actor) -> AuditEvent {
        by.event(AuditAction::MemberRoleChanged, Utc::now())
            .account(account_id)
            .concerning(user_id)
            .detail("from", from.as_str())
            .detail("to", to.as_str())
    }

    pub fn member_removed(
        account_id: &str,
        user_id: &str,
        revoked_tokens: u64,
        by: &Actor,
        at: DateTime<Utc>,
    ) -> AuditEvent {
        by.event(AuditAction::MemberRemoved, at)
            .account(account_id)
            .concerning(user_id)
            .detail("revokedTokens", revoked_tokens)
    }

    pub fn subscription_changed(
        account_id: &str,
        from: SubscriptionStatus,
        to: SubscriptionStatus,
        by: &Actor,
    ) -> AuditEvent {
        by.event(AuditAction::SubscriptionChanged, Utc::now())
            .account(account_id)
            .detail("from", from.as_str())
            .detail("to", to.as_str())
    }
}

/// Which events to list, newest first.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub account_id: String,
    /// Who asks: their own personal events are included.
    pub viewer: String,
    /// Owners and admins see every event of the account; others only those
    /// they did or that concern them.
    pub everyone: bool,
    /// Events this person did or that concern them.
    pub user_id: Option<String>,
    pub token_id: Option<String>,
    /// An action name (`token.revoked`) or a family (`token`: every
    /// `token.…`).
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
    /// Continue after this `(at, id)` position.
    pub after: Option<(DateTime<Utc>, String)>,
}

impl AuditQuery {
    /// Every event of the account and the viewer's own, newest first (up
    /// to 1,000): narrow it with struct update syntax.
    pub fn everything(account_id: &str, viewer: &str) -> AuditQuery {
        AuditQuery {
            account_id: account_id.to_owned(),
            viewer: viewer.to_owned(),
            everyone: true,
            user_id: None,
            token_id: None,
            action: None,
            since: None,
            until: None,
            limit: 1_000,
            after: None,
        }
    }
}
