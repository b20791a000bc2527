//! Account roles and the scope ceiling of each: the most a member of that role
//! may do, whatever scopes their token carries.

use std::fmt;
use std::str::FromStr;

use crate::scope::{Action, Scope, ScopeResource, ScopeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The scopes this role may exercise or grant.
    pub fn ceiling(self) -> ScopeSet {
        match self {
            Role::Owner => ScopeSet::all(),
            Role::Admin => ScopeSet::all().without(Scope::BillingWrite),
            Role::Member => Scope::ALL
                .iter()
                .copied()
                .filter(|s| match s.action() {
                    Action::Read => s.resource() != ScopeResource::Billing,
                    Action::Write | Action::Delete => *s == Scope::TokensWrite || is_chatbot_content_below_chatbot(*s),
                })
                .collect(),
            Role::Viewer => Scope::ALL
                .iter()
                .copied()
                .filter(|s| {
                    (s.action() == Action::Read && s.resource() != ScopeResource::Billing) || *s == Scope::TokensWrite
                })
                .collect(),
        }
    }

    /// Owners and admins manage the account: all of its tokens and its members.
    pub const fn manages_account(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// Content a member may write: what lives under a chatbot, not the chatbot itself.
fn is_chatbot_content_below_chatbot(scope: Scope) -> bool {
    scope.resource().is_chatbot_content() && scope.resource() != ScopeResource::Chatbots
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected owner, admin, member or viewer)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Scope::*;

    #[test]
    fn owner_has_everything_admin_all_but_billing_write() {
        assert_eq!(Role::Owner.ceiling(), ScopeSet::all());
        assert_eq!(Role::Admin.ceiling(), ScopeSet::all().without(BillingWrite));
        assert!(Role::Admin.ceiling().contains(BillingRead));
    }

    #[test]
    fn member_ceiling_is_exactly_the_documented_one() {
        let expected: ScopeSet = [
            AccountRead,
            TokensRead,
            TokensWrite,
            ChatbotsRead,
            KnowledgeRead,
            KnowledgeWrite,
            KnowledgeDelete,
            PersonasRead,
            PersonasWrite,
            PersonasDelete,
            InstructionsRead,
            InstructionsWrite,
            InstructionsDelete,
            SettingsRead,
            SettingsWrite,
            StartersRead,
            StartersWrite,
            StartersDelete,
            FollowupsRead,
            FollowupsWrite,
            FollowupsDelete,
            ConversationsRead,
            ConversationsWrite,
            ConversationsDelete,
            LeadsRead,
            LeadsWrite,
            LeadsDelete,
            MembersRead,
            IntegrationsRead,
        ]
        .into_iter()
        .collect();
        assert_eq!(Role::Member.ceiling(), expected);
    }

    #[test]
    fn viewer_reads_everything_but_billing_and_may_make_tokens() {
        let expected: ScopeSet = [
            AccountRead,
            TokensRead,
            TokensWrite,
            ChatbotsRead,
            KnowledgeRead,
            PersonasRead,
            InstructionsRead,
            SettingsRead,
            StartersRead,
            FollowupsRead,
            ConversationsRead,
            LeadsRead,
            MembersRead,
            IntegrationsRead,
        ]
        .into_iter()
        .collect();
        assert_eq!(Role::Viewer.ceiling(), expected);
        assert!(!Role::Viewer.ceiling().contains(ChatbotsDelete));
    }

    #[test]
    fn ceilings_are_nested() {
        assert!(Role::Viewer.ceiling().is_subset(Role::Member.ceiling()));
        assert!(Role::Member.ceiling().is_subset(Role::Admin.ceiling()));
        assert!(Role::Admin.ceiling().is_subset(Role::Owner.ceiling()));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("Owner".parse::<Role>().is_err());
    }
}
