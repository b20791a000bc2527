//! The scope catalog (37 scopes from the product documentation), scope sets,
//! and the Standard/Full access levels. No scope implies another.

use std::str::FromStr;

pub use crate::catalog::UnknownScope;
use crate::catalog::{Catalog, Scopes, scope_names};

/// The resources that scopes are grouped by, in catalog order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeResource {
    Account,
    Billing,
    Tokens,
    Chatbots,
    Knowledge,
    Personas,
    Instructions,
    Settings,
    Starters,
    Followups,
    Conversations,
    Leads,
    Members,
    Integrations,
}

impl ScopeResource {
    pub const ALL: [ScopeResource; 14] = [
        ScopeResource::Account,
        ScopeResource::Billing,
        ScopeResource::Tokens,
        ScopeResource::Chatbots,
        ScopeResource::Knowledge,
        ScopeResource::Personas,
        ScopeResource::Instructions,
        ScopeResource::Settings,
        ScopeResource::Starters,
        ScopeResource::Followups,
        ScopeResource::Conversations,
        ScopeResource::Leads,
        ScopeResource::Members,
        ScopeResource::Integrations,
    ];

    /// The name used in scope strings (`knowledge` in `knowledge:read`).
    pub const fn key(self) -> &'static str {
        match self {
            ScopeResource::Account => "account",
            ScopeResource::Billing => "billing",
            ScopeResource::Tokens => "tokens",
            ScopeResource::Chatbots => "chatbots",
            ScopeResource::Knowledge => "knowledge",
            ScopeResource::Personas => "personas",
            ScopeResource::Instructions => "instructions",
            ScopeResource::Settings => "settings",
            ScopeResource::Starters => "starters",
            ScopeResource::Followups => "followups",
            ScopeResource::Conversations => "conversations",
            ScopeResource::Leads => "leads",
            ScopeResource::Members => "members",
            ScopeResource::Integrations => "integrations",
        }
    }

    /// The human label of the documentation's scope table.
    pub const fn label(self) -> &'static str {
        match self {
            ScopeResource::Account => "Account",
            ScopeResource::Billing => "Billing",
            ScopeResource::Tokens => "API tokens",
            ScopeResource::Chatbots => "Chatbots",
            ScopeResource::Knowledge => "Knowledge",
            ScopeResource::Personas => "Personas",
            ScopeResource::Instructions => "Instructions",
            ScopeResource::Settings => "Settings",
            ScopeResource::Starters => "Conversation starters",
            ScopeResource::Followups => "Conversation followups",
            ScopeResource::Conversations => "Conversations",
            ScopeResource::Leads => "Leads",
            ScopeResource::Members => "Members",
            ScopeResource::Integrations => "Integrations",
        }
    }

    /// True for resources that live under a chatbot, where a token's chatbot
    /// restriction applies.
    pub const fn is_chatbot_content(self) -> bool {
        matches!(
            self,
            ScopeResource::Chatbots
                | ScopeResource::Knowledge
                | ScopeResource::Personas
                | ScopeResource::Instructions
                | ScopeResource::Settings
                | ScopeResource::Starters
                | ScopeResource::Followups
                | ScopeResource::Conversations
                | ScopeResource::Leads
        )
    }
}

/// What a scope allows on its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Read,
    Write,
    Delete,
}

impl Action {
    pub const fn key(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
        }
    }
}

macro_rules! catalog {
    ($($variant:ident = ($res:ident, $act:ident, $name:literal)),+ $(,)?) => {
        /// One permission from the catalog. The string form (`knowledge:write`)
        /// is the wire format and never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Scope { $($variant),+ }

        impl Scope {
            /// Every scope, in catalog order.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Scope::$variant => $name),+ }
            }

            pub const fn resource(self) -> ScopeResource {
                match self { $(Scope::$variant => ScopeResource::$res),+ }
            }

            pub const fn action(self) -> Action {
                match self { $(Scope::$variant => Action::$act),+ }
            }
        }

        impl FromStr for Scope {
            type Err = UnknownScope;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Scope::$variant),)+
                    _ => Err(UnknownScope::named(s)),
                }
            }
        }

        impl Catalog for Scope {
            const ALL: &'static [Scope] = Scope::ALL;

            fn as_str(self) -> &'static str {
                Scope::as_str(self)
            }

            fn index(self) -> u8 {
                self as u8
            }

            fn describe(self) -> std::borrow::Cow<'static, str> {
                self.description().into()
            }
        }
    };
}

catalog! {
    AccountRead = (Account, Read, "account:read"),
    AccountWrite = (Account, Write, "account:write"),
    BillingRead = (Billing, Read, "billing:read"),
    BillingWrite = (Billing, Write, "billing:write"),
    TokensRead = (Tokens, Read, "tokens:read"),
    TokensWrite = (Tokens, Write, "tokens:write"),
    ChatbotsRead = (Chatbots, Read, "chatbots:read"),
    ChatbotsWrite = (Chatbots, Write, "chatbots:write"),
    ChatbotsDelete = (Chatbots, Delete, "chatbots:delete"),
    KnowledgeRead = (Knowledge, Read, "knowledge:read"),
    KnowledgeWrite = (Knowledge, Write, "knowledge:write"),
    KnowledgeDelete = (Knowledge, Delete, "knowledge:delete"),
    PersonasRead = (Personas, Read, "personas:read"),
    PersonasWrite = (Personas, Write, "personas:write"),
    PersonasDelete = (Personas, Delete, "personas:delete"),
    InstructionsRead = (Instructions, Read, "instructions:read"),
    InstructionsWrite = (Instructions, Write, "instructions:write"),
    InstructionsDelete = (Instructions, Delete, "instructions:delete"),
    SettingsRead = (Settings, Read, "settings:read"),
    SettingsWrite = (Settings, Write, "settings:write"),
    StartersRead = (Starters, Read, "starters:read"),
    StartersWrite = (Starters, Write, "starters:write"),
    StartersDelete = (Starters, Delete, "starters:delete"),
    FollowupsRead = (Followups, Read, "followups:read"),
    FollowupsWrite = (Followups, Write, "followups:write"),
    FollowupsDelete = (Followups, Delete, "followups:delete"),
    ConversationsRead = (Conversations, Read, "conversations:read"),
    ConversationsWrite = (Conversations, Write, "conversations:write"),
    ConversationsDelete = (Conversations, Delete, "conversations:delete"),
    LeadsRead = (Leads, Read, "leads:read"),
    LeadsWrite = (Leads, Write, "leads:write"),
    LeadsDelete = (Leads, Delete, "leads:delete"),
    MembersRead = (Members, Read, "members:read"),
    MembersWrite = (Members, Write, "members:write"),
    MembersDelete = (Members, Delete, "members:delete"),
    IntegrationsRead = (Integrations, Read, "integrations:read"),
    IntegrationsWrite = (Integrations, Write, "integrations:write"),
}

impl Scope {
    /// A plain-language sentence for approval pages and help texts.
    pub fn description(self) -> String {
        let what = match self.resource() {
            ScopeResource::Account => "the account's name and profile",
            ScopeResource::Billing => "the plan and subscription",
            ScopeResource::Tokens => "API tokens",
            ScopeResource::Chatbots => "chatbots",
            ScopeResource::Knowledge => "chatbot knowledge sources",
            ScopeResource::Personas => "chatbot personas",
            ScopeResource::Instructions => "chatbot instructions",
            ScopeResource::Settings => "chatbot settings",
            ScopeResource::Starters => "conversation starters",
            ScopeResource::Followups => "conversation follow-ups",
            ScopeResource::Conversations => "conversations and their messages",
            ScopeResource::Leads => "captured leads",
            ScopeResource::Members => "team members and their roles",
            ScopeResource::Integrations => "integrations",
        };
        let verb = match self.action() {
            Action::Read => "View",
            Action::Write => "Create and change",
            Action::Delete => "Delete",
        };
        format!("{verb} {what}")
    }
}

scope_names!(Scope);

/// A set of SiteGPT's scopes.
pub type ScopeSet = Scopes<Scope>;

/// The named access levels of the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    /// Every scope except `tokens:write`, `billing:write` and `integrations:write`.
    Standard,
    /// Every scope.
    Full,
}

impl AccessLevel {
    pub fn scopes(self) -> ScopeSet {
        match self {
            AccessLevel::Full => ScopeSet::all(),
            AccessLevel::Standard => ScopeSet::all()
                .without(Scope::TokensWrite)
                .without(Scope::BillingWrite)
                .without(Scope::IntegrationsWrite),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_37_documented_scopes() {
        assert_eq!(Scope::ALL.len(), 37);
        assert_eq!(ScopeSet::all().len(), 37);
        // The documented list of the create-token page, in its order.
        let documented = "account:read account:write tokens:read tokens:write chatbots:read \
            chatbots:write chatbots:delete knowledge:read knowledge:write knowledge:delete \
            personas:read personas:write personas:delete instructions:read instructions:write \
            instructions:delete settings:read settings:write starters:read starters:write \
            starters:delete followups:read followups:write followups:delete conversations:read \
            conversations:write conversations:delete leads:read leads:write leads:delete \
            members:read members:write members:delete integrations:read integrations:write \
            billing:read billing:write";
        let parsed = ScopeSet::parse_space_separated(documented).expect("all documented");
        assert_eq!(parsed, ScopeSet::all());
    }

    #[test]
    fn the_catalog_holds_what_every_catalog_must() {
        assert_eq!(crate::catalog::check_catalog::<Scope>(), Ok(()));
    }

    #[test]
    fn names_round_trip_and_match_resource_and_action() {
        for &scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            let expected = format!("{}:{}", scope.resource().key(), scope.action().key());
            assert_eq!(scope.as_str(), expected);
        }
    }

    #[test]
    fn unknown_and_near_miss_names_are_rejected() {
        for bad in ["", "account", "account:", "Account:read", "account:read ", "admin", "*"] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn standard_is_full_minus_three_writes() {
        let standard = AccessLevel::Standard.scopes();
        assert_eq!(standard.len(), 34);
        for s in [Scope::TokensWrite, Scope::BillingWrite, Scope::IntegrationsWrite] {
            assert!(!standard.contains(s));
        }
        assert!(standard.is_subset(AccessLevel::Full.scopes()));
    }

    #[test]
    fn set_algebra() {
        let a: ScopeSet = [Scope::AccountRead, Scope::TokensRead].into_iter().collect();
        let b: ScopeSet = [Scope::TokensRead, Scope::LeadsWrite].into_iter().collect();
        assert_eq!(a.intersection(b).to_vec(), vec![Scope::TokensRead]);
        assert_eq!(a.difference(b).to_vec(), vec![Scope::AccountRead]);
        assert!(a.intersection(b).is_subset(a));
        assert!(!a.is_subset(b));
        assert_eq!(a.to_space_separated(), "account:read tokens:read");
        assert_eq!(a.union(b).to_vec(), vec![Scope::AccountRead, Scope::TokensRead, Scope::LeadsWrite]);
        assert_eq!(ScopeSet::all().difference(a.union(b)).len(), 34);
        assert_eq!(ScopeSet::default(), ScopeSet::EMPTY);
    }
}
