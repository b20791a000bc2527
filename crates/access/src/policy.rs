//! The authorization decision of the API, as pure functions.
//!
//! The steps run in this order, and the first failure is the answer:
//!
//! | step | check                                                        | denial                          |
//! |------|--------------------------------------------------------------|---------------------------------|
//! | 1    | bearer present, well-formed, known, live, user still a member, issued for this resource | `Unauthenticated`, `TokenExpired`, `TokenRevoked` |
//! | 2    | the token owner's e-mail is verified                         | `EmailNotVerified`              |
//! | 3    | the route's scope is in the token                            | `InsufficientScope`             |
//! | 4    | the resource is the account's and inside the chatbot restriction | `NotFound`                  |
//! | 5    | the account's subscription is active, where the route needs it | `SubscriptionRequired`        |
//! | 6    | the user's role permits the route's scope                    | `Forbidden`                     |
//!
//! Body validation comes after all of these and belongs to the handler.
//! Steps 1–3 need only the credential ([`admit`]); steps 4–6 need the target
//! resource ([`authorize_target`]). [`decide`] is both, in order.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::expiry::{Lapse, lapse};
use crate::net::IpAllowlist;
use crate::oauth::Resource;
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};

/// Which chatbots a token may touch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatbotRestriction(Vec<String>);

impl ChatbotRestriction {
    /// No restriction: every chatbot the user can reach.
    pub const fn unrestricted() -> Self {
        ChatbotRestriction(Vec::new())
    }

    /// Restricts to the given ids (sorted, without duplicates). An empty list
    /// means unrestricted, as on the wire.
    pub fn from_ids(mut ids: Vec<String>) -> Self {
        ids.sort();
        ids.dedup();
        ChatbotRestriction(ids)
    }

    pub fn is_restricted(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn allows(&self, chatbot_id: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|id| id == chatbot_id)
    }

    pub fn ids(&self) -> &[String] {
        &self.0
    }
}

/// Everything the decision needs to know about a presented, known token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub scopes: ScopeSet,
    pub chatbots: ChatbotRestriction,
    /// The user's current role in the token's account; `None` once removed.
    pub role: Option<Role>,
    pub email_verified: bool,
    pub subscription_active: bool,
    /// The resource an OAuth client asked the token for (RFC 8707); `None`
    /// for tokens that serve every resource.
    pub audience: Option<Resource>,
    /// Where the token may be used from; empty: anywhere.
    pub allowed_ips: IpAllowlist,
}

impl TokenFacts {
    /// Token scopes ∩ the user's current role ceiling.
    pub fn effective_scopes(&self) -> ScopeSet {
        match self.role {
            Some(role) => self.scopes.intersection(role.ceiling()),
            None => ScopeSet::EMPTY,
        }
    }
}

/// What the request presented.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <well-formed token>`, or a bad checksum.
    Malformed,
    /// Well-formed, but no stored token has its hash.
    Unknown,
    Found(&'a TokenFacts),
}

/// Whether a route needs an active subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    Required,
    /// Account, billing and token routes stay usable so a lapsed team can fix it.
    Exempt,
}

/// The rule a route declares: the one scope it needs, and whether it needs an
/// active subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub scope: Scope,
    pub subscription: Subscription,
    /// The protected resource the route belongs to.
    pub resource: Resource,
}

impl RouteRule {
    pub const fn new(scope: Scope) -> RouteRule {
        RouteRule { scope, subscription: Subscription::Required, resource: Resource::ApiV2 }
    }

    pub const fn exempt(scope: Scope) -> RouteRule {
        RouteRule { scope, subscription: Subscription::Exempt, resource: Resource::ApiV2 }
    }

    /// The same rule on another resource.
    pub const fn on(self, resource: Resource) -> RouteRule {
        RouteRule { resource, ..self }
    }
}

/// The resource a request acts on, as the handler found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The token's own account (account-level routes, lists, creation).
    Account,
    /// A record that exists; `same_account` says whether it is the token's
    /// account's, `chatbot` names the chatbot it lives under, if any.
    Record { same_account: bool, chatbot: Option<&'a str> },
    /// No record with that id exists anywhere.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnauthenticatedReason {
    Missing,
    Malformed,
    Unknown,
    NotAMember,
    /// Issued through OAuth for another resource (RFC 8707).
    OtherResource(Resource),
}

/// Why a request is refused. Each maps to exactly one error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    Unauthenticated(UnauthenticatedReason),
    TokenExpired,
    TokenRevoked,
    EmailNotVerified,
    /// The token's allowlist does not include the client's address.
    AddressNotAllowed(Option<IpAddr>),
    InsufficientScope(Scope),
    NotFound,
    SubscriptionRequired,
    Forbidden(String),
}

impl Denial {
    /// The stable error code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::Unauthenticated(_) => "UNAUTHENTICATED",
            Denial::TokenExpired => "TOKEN_EXPIRED",
            Denial::TokenRevoked => "TOKEN_REVOKED",
            Denial::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Denial::AddressNotAllowed(_) => "IP_NOT_ALLOWED",
            Denial::InsufficientScope(_) => "INSUFFICIENT_SCOPE",
            Denial::NotFound => "NOT_FOUND",
            Denial::SubscriptionRequired => "SUBSCRIPTION_REQUIRED",
            Denial::Forbidden(_) => "FORBIDDEN",
        }
    }

    /// A message for people; names what to do where there is something to do.
    pub fn message(&self) -> String {
        match self {
            Denial::Unauthenticated(UnauthenticatedReason::Missing) => {
                "Authentication required: send `Authorization: Bearer <token>`.".into()
            }
            Denial::Unauthenticated(UnauthenticatedReason::NotAMember) => {
                "The token's user is no longer a member of its account.".into()
            }
            Denial::Unauthenticated(UnauthenticatedReason::OtherResource(resource)) => {
                format!("The token was issued for another resource ({resource}); ask for a token for this one.")
            }
            Denial::Unauthenticated(_) => "The bearer token is not valid.".into(),
            Denial::TokenExpired => "The token has expired. Create or rotate a token.".into(),
            Denial::TokenRevoked => "The token has been revoked.".into(),
            Denial::EmailNotVerified => {
                "The token owner's e-mail address is not verified. Verify it, then retry.".into()
            }
            Denial::InsufficientScope(scope) => {
                format!("The token lacks the `{scope}` scope this route requires.")
            }
            Denial::AddressNotAllowed(Some(ip)) => format!(
                "The token may not be used from {ip}: it is limited to certain addresses. Use it from one of them, \
                 or create a token without that limit."
            ),
            Denial::AddressNotAllowed(None) => "The token is limited to certain addresses.".into(),
            Denial::NotFound => "Not found.".into(),
            Denial::SubscriptionRequired => "An active team subscription is required.".into(),
            Denial::Forbidden(why) => why.clone(),
        }
    }
}

/// Step 1.
pub fn authenticate<'a>(credential: Credential<'a>, now: DateTime<Utc>) -> Result<&'a TokenFacts, Denial> {
    use UnauthenticatedReason as R;
    let facts = match credential {
        Credential::Missing => return Err(Denial::Unauthenticated(R::Missing)),
        Credential::Malformed => return Err(Denial::Unauthenticated(R::Malformed)),
        Credential::Unknown => return Err(Denial::Unauthenticated(R::Unknown)),
        Credential::Found(facts) => facts,
    };
    match lapse(facts.revoked_at, facts.expires_at, now) {
        Some(Lapse::Revoked) => return Err(Denial::TokenRevoked),
        Some(Lapse::Expired) => return Err(Denial::TokenExpired),
        None => {}
    }
    if facts.role.is_none() {
        return Err(Denial::Unauthenticated(R::NotAMember));
    }
    Ok(facts)
}

/// The end of step 1: a token issued for one resource is refused at another.
pub fn check_audience(facts: &TokenFacts, rule: RouteRule) -> Result<(), Denial> {
    match facts.audience {
        Some(audience) if audience != rule.resource => {
            Err(Denial::Unauthenticated(UnauthenticatedReason::OtherResource(audience)))
        }
        _ => Ok(()),
    }
}

/// Step 2.
/// Step 1½: a token with an allowlist is refused from any other address
/// (where the request came from is a fact about the request, so this runs
/// where the client is known: API and MCP calls, not introspection).
pub fn check_address(facts: &TokenFacts, client: Option<IpAddr>) -> Result<(), Denial> {
    if facts.allowed_ips.allows(client) { Ok(()) } else { Err(Denial::AddressNotAllowed(client)) }
}

pub fn check_email(facts: &TokenFacts) -> Result<(), Denial> {
    if facts.email_verified { Ok(()) } else { Err(Denial::EmailNotVerified) }
}

/// Step 3.
pub fn check_scope(facts: &TokenFacts, rule: RouteRule) -> Result<(), Denial> {
    if facts.scopes.contains(rule.scope) { Ok(()) } else { Err(Denial::InsufficientScope(rule.scope)) }
}

/// Step 4.
pub fn check_target(facts: &TokenFacts, target: Target<'_>) -> Result<(), Denial> {
    match target {
        Target::Account => Ok(()),
        Target::Missing | Target::Record { same_account: false, .. } => Err(Denial::NotFound),
        Target::Record { same_account: true, chatbot: Some(id) } if !facts.chatbots.allows(id) => Err(Denial::NotFound),
        Target::Record { same_account: true, .. } => Ok(()),
    }
}

/// Step 5.
pub fn check_subscription(facts: &TokenFacts, rule: RouteRule) -> Result<(), Denial> {
    match rule.subscription {
        Subscription::Required if !facts.subscription_active => Err(Denial::SubscriptionRequired),
        _ => Ok(()),
    }
}

/// Step 6.
pub fn check_role(facts: &TokenFacts, rule: RouteRule) -> Result<(), Denial> {
    match facts.role {
        Some(role) if role.ceiling().contains(rule.scope) => Ok(()),
        Some(role) => Err(Denial::Forbidden(format!("Your role ({role}) does not permit `{}`.", rule.scope))),
        None => Err(Denial::Unauthenticated(UnauthenticatedReason::NotAMember)),
    }
}

/// Steps 1–3: what can be decided from the credential and the route alone.
pub fn admit<'a>(credential: Credential<'a>, rule: RouteRule, now: DateTime<Utc>) -> Result<&'a TokenFacts, Denial> {
    let facts = authenticate(credential, now)?;
    check_audience(facts, rule)?;
    check_email(facts)?;
    check_scope(facts, rule)?;
    Ok(facts)
}

/// Steps 4–6, for an admitted token and the resource the handler loaded.
/// [`admit`] for a request from `client`: the allowlist is checked right
/// after step 1 (the token is good and for this resource).
pub fn admit_from<'a>(
    credential: Credential<'a>,
    rule: RouteRule,
    now: DateTime<Utc>,
    client: Option<IpAddr>,
) -> Result<&'a TokenFacts, Denial> {
    let facts = authenticate(credential, now)?;
    check_audience(facts, rule)?;
    check_address(facts, client)?;
    check_email(facts)?;
    check_scope(facts, rule)?;
    Ok(facts)
}

pub fn authorize_target(facts: &TokenFacts, rule: RouteRule, target: Target<'_>) -> Result<(), Denial> {
    check_target(facts, target)?;
    check_subscription(facts, rule)?;
    check_role(facts, rule)
}

/// The whole decision, steps 1–6 in order.
pub fn decide(
    credential: Credential<'_>,
    rule: RouteRule,
    target: Target<'_>,
    now: DateTime<Utc>,
) -> Result<(), Denial> {
    let facts = admit(credential, rule, now)?;
    authorize_target(facts, rule, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").expect("fixed").with_timezone(&Utc)
    }

    fn good() -> TokenFacts {
        TokenFacts {
            expires_at: now() + Duration::days(30),
            revoked_at: None,
            scopes: ScopeSet::all(),
            chatbots: ChatbotRestriction::unrestricted(),
            role: Some(Role::Owner),
            email_verified: true,
            subscription_active: true,
            audience: None,
            allowed_ips: IpAllowlist::anywhere(),
        }
    }

    #[test]
    fn an_allowlist_refuses_other_addresses_right_after_the_token_is_found_good() {
        let rule = RouteRule::exempt(Scope::AccountRead);
        let office: IpAddr = "203.0.113.9".parse().expect("ip");
        let home: IpAddr = "198.51.100.1".parse().expect("ip");
        let limited = TokenFacts { allowed_ips: IpAllowlist::parse(&["203.0.113.0/24"]).expect("list"), ..good() };
        assert_eq!(admit_from(Credential::Found(&limited), rule, now(), Some(office)), Ok(&limited));
        let refused = admit_from(Credential::Found(&limited), rule, now(), Some(home)).unwrap_err();
        assert_eq!((refused.code(), refused.message().contains("198.51.100.1")), ("IP_NOT_ALLOWED", true));
        assert_eq!(admit_from(Credential::Found(&limited), rule, now(), None).unwrap_err().code(), "IP_NOT_ALLOWED");
        // A revoked token is 401 wherever it comes from; the address comes before the e-mail and scope checks.
        let revoked = TokenFacts { revoked_at: Some(now()), ..limited.clone() };
        assert_eq!(
            admit_from(Credential::Found(&revoked), rule, now(), Some(home)).unwrap_err().code(),
            "TOKEN_REVOKED"
        );
        let unverified = TokenFacts { email_verified: false, scopes: ScopeSet::EMPTY, ..limited.clone() };
        assert_eq!(
            admit_from(Credential::Found(&unverified), rule, now(), Some(home)).unwrap_err().code(),
            "IP_NOT_ALLOWED"
        );
        assert_eq!(
            admit_from(Credential::Found(&unverified), rule, now(), Some(office)).unwrap_err().code(),
            "EMAIL_NOT_VERIFIED"
        );
        // Without an allowlist, any address and none at all are fine.
        assert_eq!(admit_from(Credential::Found(&good()), rule, now(), None).map(|f| f.scopes), Ok(ScopeSet::all()));
    }

    #[test]
    fn a_token_for_one_resource_is_refused_at_the_other() {
        let rule = RouteRule::exempt(Scope::AccountRead);
        for audience in [None, Some(Resource::ApiV2)] {
            let facts = TokenFacts { audience, ..good() };
            assert_eq!(admit(Credential::Found(&facts), rule, now()), Ok(&facts));
        }
        let mcp_only = TokenFacts { audience: Some(Resource::Mcp), ..good() };
        let denial = admit(Credential::Found(&mcp_only), rule, now()).unwrap_err();
        assert_eq!(denial, Denial::Unauthenticated(UnauthenticatedReason::OtherResource(Resource::Mcp)));
        assert_eq!(denial.code(), "UNAUTHENTICATED");
        assert!(denial.message().contains("/mcp"), "{}", denial.message());
        assert_eq!(admit(Credential::Found(&mcp_only), rule.on(Resource::Mcp), now()), Ok(&mcp_only));
        // The resource is checked before the e-mail and the scope.
        let unverified = TokenFacts { email_verified: false, scopes: ScopeSet::default(), ..mcp_only };
        assert!(matches!(
            admit(Credential::Found(&unverified), rule, now()),
            Err(Denial::Unauthenticated(UnauthenticatedReason::OtherResource(_)))
        ));
    }

    const KNOWLEDGE_WRITE: RouteRule = RouteRule::new(Scope::KnowledgeWrite);
    const IN_CB1: Target<'static> = Target::Record { same_account: true, chatbot: Some("cb_1") };

    fn code(result: Result<(), Denial>) -> &'static str {
        match result {
            Ok(()) => "OK",
            Err(denial) => denial.code(),
        }
    }

    /// One row per line of the decision table, each failing exactly one step.
    #[test]
    fn every_row_of_the_table() {
        let n = now();
        type Mutate = fn(&mut TokenFacts);
        let rows: Vec<(&str, Mutate, Target<'_>, RouteRule, &str)> = vec![
            ("valid", |_| {}, IN_CB1, KNOWLEDGE_WRITE, "OK"),
            ("expired", |f| f.expires_at = now(), IN_CB1, KNOWLEDGE_WRITE, "TOKEN_EXPIRED"),
            ("revoked", |f| f.revoked_at = Some(now()), IN_CB1, KNOWLEDGE_WRITE, "TOKEN_REVOKED"),
            ("removed member", |f| f.role = None, IN_CB1, KNOWLEDGE_WRITE, "UNAUTHENTICATED"),
            ("unverified", |f| f.email_verified = false, IN_CB1, KNOWLEDGE_WRITE, "EMAIL_NOT_VERIFIED"),
            (
                "lacks scope",
                |f| f.scopes = f.scopes.without(Scope::KnowledgeWrite),
                IN_CB1,
                KNOWLEDGE_WRITE,
                "INSUFFICIENT_SCOPE",
            ),
            (
                "other account",
                |_| {},
                Target::Record { same_account: false, chatbot: Some("cb_1") },
                KNOWLEDGE_WRITE,
                "NOT_FOUND",
            ),
            ("missing record", |_| {}, Target::Missing, KNOWLEDGE_WRITE, "NOT_FOUND"),
            (
                "outside chatbot restriction",
                |f| f.chatbots = ChatbotRestriction::from_ids(vec!["cb_2".into()]),
                IN_CB1,
                KNOWLEDGE_WRITE,
                "NOT_FOUND",
            ),
            (
                "inside chatbot restriction",
                |f| f.chatbots = ChatbotRestriction::from_ids(vec!["cb_1".into()]),
                IN_CB1,
                KNOWLEDGE_WRITE,
                "OK",
            ),
            (
                "inactive subscription",
                |f| f.subscription_active = false,
                IN_CB1,
                KNOWLEDGE_WRITE,
                "SUBSCRIPTION_REQUIRED",
            ),
            (
                "inactive subscription, exempt route",
                |f| f.subscription_active = false,
                Target::Account,
                RouteRule::exempt(Scope::TokensWrite),
                "OK",
            ),
            ("viewer writing knowledge", |f| f.role = Some(Role::Viewer), IN_CB1, KNOWLEDGE_WRITE, "FORBIDDEN"),
            ("member writing knowledge", |f| f.role = Some(Role::Member), IN_CB1, KNOWLEDGE_WRITE, "OK"),
            (
                "admin writing billing",
                |f| f.role = Some(Role::Admin),
                Target::Account,
                RouteRule::exempt(Scope::BillingWrite),
                "FORBIDDEN",
            ),
        ];
        for (name, mutate, target, rule, expected) in rows {
            let mut facts = good();
            mutate(&mut facts);
            assert_eq!(code(decide(Credential::Found(&facts), rule, target, n)), expected, "{name}");
        }
        for credential in [Credential::Missing, Credential::Malformed, Credential::Unknown] {
            assert_eq!(code(decide(credential, KNOWLEDGE_WRITE, IN_CB1, n)), "UNAUTHENTICATED");
        }
    }

    /// With every step failing at once, removing failures one at a time walks
    /// down the table: each answer is the earliest failing step.
    #[test]
    fn steps_run_in_the_documented_order() {
        let n = now();
        let mut facts = TokenFacts {
            expires_at: now() - Duration::days(1),
            revoked_at: Some(now() - Duration::days(2)),
            scopes: ScopeSet::EMPTY,
            chatbots: ChatbotRestriction::from_ids(vec!["cb_2".into()]),
            role: None,
            email_verified: false,
            subscription_active: false,
            audience: Some(Resource::Mcp),
            allowed_ips: IpAllowlist::anywhere(),
        };
        let target = IN_CB1;
        let rule = KNOWLEDGE_WRITE;
        let mut seen = Vec::new();
        let fixes: Vec<fn(&mut TokenFacts)> = vec![
            |f| f.revoked_at = None,
            |f| f.expires_at = now() + Duration::days(1),
            |f| f.role = Some(Role::Viewer),
            |f| f.audience = Some(Resource::ApiV2),
            |f| f.email_verified = true,
            |f| f.scopes = ScopeSet::all(),
            |f| f.chatbots = ChatbotRestriction::unrestricted(),
            |f| f.subscription_active = true,
            |f| f.role = Some(Role::Member),
        ];
        seen.push(code(decide(Credential::Found(&facts), rule, target, n)));
        for fix in fixes {
            fix(&mut facts);
            seen.push(code(decide(Credential::Found(&facts), rule, target, n)));
        }
        assert_eq!(
            seen,
            [
                "TOKEN_REVOKED",
                "TOKEN_EXPIRED",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
                "EMAIL_NOT_VERIFIED",
                "INSUFFICIENT_SCOPE",
                "NOT_FOUND",
                "SUBSCRIPTION_REQUIRED",
                "FORBIDDEN",
                "OK",
            ]
        );
    }

    #[test]
    fn the_split_entry_points_agree_with_decide() {
        let n = now();
        let facts = good();
        let admitted = admit(Credential::Found(&facts), KNOWLEDGE_WRITE, n).expect("admitted");
        assert_eq!(authorize_target(admitted, KNOWLEDGE_WRITE, Target::Missing), Err(Denial::NotFound));
        assert_eq!(authorize_target(admitted, KNOWLEDGE_WRITE, IN_CB1), Ok(()));
    }

    #[test]
    fn effective_scopes_shrink_with_the_role() {
        let mut facts = good();
        assert_eq!(facts.effective_scopes(), ScopeSet::all());
        facts.role = Some(Role::Viewer);
        assert_eq!(facts.effective_scopes(), Role::Viewer.ceiling());
        facts.role = None;
        assert!(facts.effective_scopes().is_empty());
    }

    #[test]
    fn subscription_message_is_the_documented_one() {
        assert_eq!(Denial::SubscriptionRequired.message(), "An active team subscription is required.");
    }
}
