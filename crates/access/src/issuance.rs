//! The never-escalating rule for minting (and rotating) tokens: a new token may
//! carry only what its issuer could do itself.

use chrono::{DateTime, Utc};

use crate::policy::ChatbotRestriction;
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};

/// Who is asking for a token.
#[derive(Debug, Clone)]
pub struct Issuer<'a> {
    pub role: Role,
    /// When the issuer is itself a token: what that token holds.
    pub via_token: Option<ViaToken<'a>>,
}

/// The token a request for a token was made with.
#[derive(Debug, Clone, Copy)]
pub struct ViaToken<'a> {
    pub scopes: ScopeSet,
    pub chatbots: &'a ChatbotRestriction,
    /// A token it makes expires no later than this.
    pub expires_at: DateTime<Utc>,
}

impl Issuer<'_> {
    /// The latest expiry this issuer may give a token, if it is bounded.
    pub fn latest_expiry(&self) -> Option<DateTime<Utc>> {
        self.via_token.map(|via| via.expires_at)
    }

    /// `wanted`, brought forward to [`Issuer::latest_expiry`]: for lifetimes
    /// the requester did not choose (a default, a rotation).
    pub fn cap_expiry(&self, wanted: DateTime<Utc>) -> DateTime<Utc> {
        self.latest_expiry().map_or(wanted, |latest| wanted.min(latest))
    }
}

/// What the issuer may not grant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssuanceDenied {
    pub scopes: Vec<Scope>,
    pub chatbots: Vec<String>,
    /// The request is unrestricted but the issuing token is restricted.
    pub unrestricted_from_restricted: bool,
    /// The new token would outlive the issuing token, which expires then.
    pub outlives: Option<DateTime<Utc>>,
}

impl IssuanceDenied {
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if !self.scopes.is_empty() {
            let names: Vec<_> = self.scopes.iter().map(|s| s.as_str()).collect();
            parts.push(format!("you may not grant {}", names.join(", ")));
        }
        if self.unrestricted_from_restricted {
            parts.push("a chatbot-restricted token can only create tokens restricted to its own chatbots".into());
        }
        if !self.chatbots.is_empty() {
            parts.push(format!("you may not grant access to chatbots {}", self.chatbots.join(", ")));
        }
        if let Some(latest) = self.outlives {
            parts.push(format!(
                "a token cannot outlive the token that creates it, which expires at {}",
                latest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        let mut message = parts.join("; ");
        if let Some(first) = message.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        message.push('.');
        message
    }
}

/// Scopes the issuer may grant: role ceiling, and the issuing token's scopes.
pub fn grantable(issuer: &Issuer<'_>) -> ScopeSet {
    let ceiling = issuer.role.ceiling();
    match issuer.via_token {
        Some(via) => ceiling.intersection(via.scopes),
        None => ceiling,
    }
}

/// Checks a request for `scopes` restricted to `chatbots` (empty = all),
/// expiring at `expires_at`.
pub fn check_issuance(
    issuer: &Issuer<'_>,
    scopes: ScopeSet,
    chatbots: &ChatbotRestriction,
    expires_at: DateTime<Utc>,
) -> Result<(), IssuanceDenied> {
    let mut denied = IssuanceDenied { scopes: scopes.difference(grantable(issuer)).to_vec(), ..Default::default() };
    if let Some(latest) = issuer.latest_expiry()
        && expires_at > latest
    {
        denied.outlives = Some(latest);
    }
    if let Some(via) = issuer.via_token
        && let own = via.chatbots
        && own.is_restricted()
    {
        if chatbots.is_restricted() {
            denied.chatbots = chatbots.ids().iter().filter(|id| !own.allows(id)).cloned().collect();
        } else {
            denied.unrestricted_from_restricted = true;
        }
    }
    if denied == IssuanceDenied::default() { Ok(()) } else { Err(denied) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Scope::*;

    fn set(scopes: &[Scope]) -> ScopeSet {
        scopes.iter().copied().collect()
    }

    fn later() -> DateTime<Utc> {
        Utc::now() + chrono::Duration::days(30)
    }

    fn via(scopes: ScopeSet, chatbots: &ChatbotRestriction) -> Option<ViaToken<'_>> {
        Some(ViaToken { scopes, chatbots, expires_at: Utc::now() + chrono::Duration::days(365) })
    }

    #[test]
    fn sessions_are_bounded_by_the_role_ceiling() {
        let none = ChatbotRestriction::unrestricted();
        let viewer = Issuer { role: Role::Viewer, via_token: None };
        assert_eq!(check_issuance(&viewer, set(&[ChatbotsRead]), &none, later()), Ok(()));
        let denied =
            check_issuance(&viewer, set(&[ChatbotsRead, ChatbotsDelete]), &none, later()).expect_err("escalation");
        assert_eq!(denied.scopes, vec![ChatbotsDelete]);
        let owner = Issuer { role: Role::Owner, via_token: None };
        assert_eq!(check_issuance(&owner, ScopeSet::all(), &none, later()), Ok(()));
    }

    #[test]
    fn tokens_are_bounded_by_their_own_scopes() {
        let none = ChatbotRestriction::unrestricted();
        let issuer = Issuer { role: Role::Owner, via_token: via(set(&[TokensWrite, KnowledgeRead]), &none) };
        assert_eq!(check_issuance(&issuer, set(&[KnowledgeRead]), &none, later()), Ok(()));
        let denied = check_issuance(&issuer, set(&[KnowledgeRead, KnowledgeWrite, BillingWrite]), &none, later())
            .expect_err("escalation");
        assert_eq!(denied.scopes, vec![BillingWrite, KnowledgeWrite]);
        assert!(denied.message().contains("knowledge:write"));
    }

    #[test]
    fn restricted_tokens_only_mint_within_their_chatbots() {
        let own = ChatbotRestriction::from_ids(vec!["cb_a".into(), "cb_b".into()]);
        let issuer = Issuer { role: Role::Owner, via_token: via(set(&[TokensWrite, ChatbotsRead]), &own) };
        let scopes = set(&[ChatbotsRead]);
        assert_eq!(
            check_issuance(&issuer, scopes, &ChatbotRestriction::from_ids(vec!["cb_a".into()]), later()),
            Ok(())
        );
        let denied =
            check_issuance(&issuer, scopes, &ChatbotRestriction::unrestricted(), later()).expect_err("widening");
        assert!(denied.unrestricted_from_restricted);
        let denied =
            check_issuance(&issuer, scopes, &ChatbotRestriction::from_ids(vec!["cb_a".into(), "cb_c".into()]), later())
                .expect_err("other chatbot");
        assert_eq!(denied.chatbots, vec!["cb_c".to_string()]);
    }

    #[test]
    fn demoted_token_cannot_mint_beyond_the_new_ceiling() {
        let none = ChatbotRestriction::unrestricted();
        let issuer = Issuer { role: Role::Viewer, via_token: via(ScopeSet::all(), &none) };
        assert_eq!(grantable(&issuer), Role::Viewer.ceiling());
        assert!(check_issuance(&issuer, set(&[MembersWrite]), &none, later()).is_err());
    }

    #[test]
    fn a_token_never_outlives_the_token_that_made_it() {
        let none = ChatbotRestriction::unrestricted();
        let expires_at = Utc::now() + chrono::Duration::days(1);
        let via = ViaToken { scopes: set(&[TokensWrite, AccountRead]), chatbots: &none, expires_at };
        let issuer = Issuer { role: Role::Owner, via_token: Some(via) };
        let denied = check_issuance(&issuer, set(&[AccountRead]), &none, Utc::now() + chrono::Duration::days(365))
            .expect_err("outlives");
        assert_eq!(denied.outlives, Some(expires_at));
        assert!(denied.message().contains("cannot outlive"), "{}", denied.message());
        assert_eq!(check_issuance(&issuer, set(&[AccountRead]), &none, expires_at), Ok(()), "the same instant is fine");
        let later = expires_at + chrono::Duration::days(89);
        assert_eq!(issuer.cap_expiry(later), expires_at);
        let sooner = expires_at - chrono::Duration::hours(1);
        assert_eq!(issuer.cap_expiry(sooner), sooner);
        // Sessions (the dashboard, device approval) are not bounded this way.
        let session = Issuer { role: Role::Owner, via_token: None };
        assert_eq!(session.cap_expiry(later), later);
        assert_eq!(check_issuance(&session, set(&[AccountRead]), &none, later), Ok(()));
    }
}
