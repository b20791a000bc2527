//! The never-escalating rule for minting (and rotating) tokens: a new token may
//! carry only what its issuer could do itself.

use crate::policy::ChatbotRestriction;
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};

/// Who is asking for a token.
#[derive(Debug, Clone)]
pub struct Issuer<'a> {
    pub role: Role,
    /// When the issuer is itself a token: its scopes and chatbot restriction.
    pub via_token: Option<(ScopeSet, &'a ChatbotRestriction)>,
}

/// What the issuer may not grant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssuanceDenied {
    pub scopes: Vec<Scope>,
    pub chatbots: Vec<String>,
    /// The request is unrestricted but the issuing token is restricted.
    pub unrestricted_from_restricted: bool,
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
        Some((scopes, _)) => ceiling.intersection(scopes),
        None => ceiling,
    }
}

/// Checks a request for `scopes` restricted to `chatbots` (empty = all).
pub fn check_issuance(
    issuer: &Issuer<'_>,
    scopes: ScopeSet,
    chatbots: &ChatbotRestriction,
) -> Result<(), IssuanceDenied> {
    let mut denied = IssuanceDenied { scopes: scopes.difference(grantable(issuer)).to_vec(), ..Default::default() };
    if let Some((_, own)) = issuer.via_token
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

    #[test]
    fn sessions_are_bounded_by_the_role_ceiling() {
        let none = ChatbotRestriction::unrestricted();
        let viewer = Issuer { role: Role::Viewer, via_token: None };
        assert_eq!(check_issuance(&viewer, set(&[ChatbotsRead]), &none), Ok(()));
        let denied = check_issuance(&viewer, set(&[ChatbotsRead, ChatbotsDelete]), &none).expect_err("escalation");
        assert_eq!(denied.scopes, vec![ChatbotsDelete]);
        let owner = Issuer { role: Role::Owner, via_token: None };
        assert_eq!(check_issuance(&owner, ScopeSet::all(), &none), Ok(()));
    }

    #[test]
    fn tokens_are_bounded_by_their_own_scopes() {
        let none = ChatbotRestriction::unrestricted();
        let issuer = Issuer { role: Role::Owner, via_token: Some((set(&[TokensWrite, KnowledgeRead]), &none)) };
        assert_eq!(check_issuance(&issuer, set(&[KnowledgeRead]), &none), Ok(()));
        let denied = check_issuance(&issuer, set(&[KnowledgeRead, KnowledgeWrite, BillingWrite]), &none)
            .expect_err("escalation");
        assert_eq!(denied.scopes, vec![BillingWrite, KnowledgeWrite]);
        assert!(denied.message().contains("knowledge:write"));
    }

    #[test]
    fn restricted_tokens_only_mint_within_their_chatbots() {
        let own = ChatbotRestriction::from_ids(vec!["cb_a".into(), "cb_b".into()]);
        let issuer = Issuer { role: Role::Owner, via_token: Some((set(&[TokensWrite, ChatbotsRead]), &own)) };
        let scopes = set(&[ChatbotsRead]);
        assert_eq!(check_issuance(&issuer, scopes, &ChatbotRestriction::from_ids(vec!["cb_a".into()])), Ok(()));
        let denied = check_issuance(&issuer, scopes, &ChatbotRestriction::unrestricted()).expect_err("widening");
        assert!(denied.unrestricted_from_restricted);
        let denied = check_issuance(&issuer, scopes, &ChatbotRestriction::from_ids(vec!["cb_a".into(), "cb_c".into()]))
            .expect_err("other chatbot");
        assert_eq!(denied.chatbots, vec!["cb_c".to_string()]);
    }

    #[test]
    fn demoted_token_cannot_mint_beyond_the_new_ceiling() {
        let none = ChatbotRestriction::unrestricted();
        let issuer = Issuer { role: Role::Viewer, via_token: Some((ScopeSet::all(), &none)) };
        assert_eq!(grantable(&issuer), Role::Viewer.ceiling());
        assert!(check_issuance(&issuer, set(&[MembersWrite]), &none).is_err());
    }
}
