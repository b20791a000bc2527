//! SitePulse's nine scopes, named and described as its documentation
//! names and describes them, and the documentation's scope combinations.

use std::borrow::Cow;
use std::str::FromStr;

use crate::catalog::{Catalog, Scopes, UnknownScope, scope_names};

macro_rules! pulse_catalog {
    ($($variant:ident = ($name:literal, $description:literal)),+ $(,)?) => {
        /// One SitePulse scope. The string form (`sites:write`) is the wire
        /// format and never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum PulseScope { $($variant),+ }

        impl PulseScope {
            /// Every scope, in the documentation's order.
            pub const ALL: &'static [PulseScope] = &[$(PulseScope::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(PulseScope::$variant => $name),+ }
            }

            /// The documentation's description, word for word.
            pub const fn description(self) -> &'static str {
                match self { $(PulseScope::$variant => $description),+ }
            }
        }

        impl FromStr for PulseScope {
            type Err = UnknownScope;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(PulseScope::$variant),)+
                    _ => Err(UnknownScope::named(s)),
                }
            }
        }
    };
}

pulse_catalog! {
    TeamsRead = ("teams:read", "Read teams, plan limits, and team monitoring defaults"),
    TeamsWrite = ("teams:write", "Update team monitoring defaults (cadence, thresholds, escalation)"),
    SitesRead = ("sites:read", "Read sites and site monitoring data"),
    SitesWrite = ("sites:write", "Create and update sites"),
    SitesDelete = ("sites:delete", "Delete sites"),
    ChecksRead = ("checks:read", "Read check runs and results"),
    ChecksRun = ("checks:run", "Queue manual check runs"),
    ChecksDelete = ("checks:delete", "Delete manual check runs"),
    IssuesRead = ("issues:read", "Read issues (monitoring incidents)"),
}

impl Catalog for PulseScope {
    const ALL: &'static [PulseScope] = PulseScope::ALL;

    fn as_str(self) -> &'static str {
        PulseScope::as_str(self)
    }

    fn index(self) -> u8 {
        self as u8
    }

    fn describe(self) -> Cow<'static, str> {
        Cow::Borrowed(self.description())
    }
}

scope_names!(PulseScope);

/// A set of SitePulse scopes.
pub type PulseScopes = Scopes<PulseScope>;

/// A combination of scopes the documentation recommends for a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub scopes: &'static [PulseScope],
}

/// The documentation's combinations, in its order.
pub const PRESETS: &[Preset] = {
    use PulseScope::*;
    &[
        Preset { name: "Dashboards and monitoring displays", scopes: &[TeamsRead, SitesRead, ChecksRead, IssuesRead] },
        Preset { name: "Team monitoring settings", scopes: &[TeamsRead, TeamsWrite] },
        Preset { name: "Managing sites", scopes: &[TeamsRead, SitesRead, SitesWrite, ChecksRead, IssuesRead] },
        Preset { name: "Running checks", scopes: &[TeamsRead, SitesRead, ChecksRead, ChecksRun] },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::check_catalog;

    /// The documentation's scope table, as it reads.
    const DOCUMENTED: &str = "\
teams:readRead teams, plan limits, and team monitoring defaults
teams:writeUpdate team monitoring defaults (cadence, thresholds, escalation)
sites:readRead sites and site monitoring data
sites:writeCreate and update sites
sites:deleteDelete sites
checks:readRead check runs and results
checks:runQueue manual check runs
checks:deleteDelete manual check runs
issues:readRead issues (monitoring incidents)";

    #[test]
    fn the_catalog_is_the_documented_table_in_its_order() {
        let rows: Vec<String> = PulseScope::ALL.iter().map(|s| format!("{}{}", s.as_str(), s.description())).collect();
        assert_eq!(rows, DOCUMENTED.lines().collect::<Vec<_>>());
        assert_eq!(check_catalog::<PulseScope>(), Ok(()));
        assert_eq!(PulseScopes::all().len(), 9);
    }

    #[test]
    fn names_parse_back_and_others_are_refused() {
        let all = PulseScopes::parse_space_separated(
            "teams:read teams:write sites:read sites:write sites:delete checks:read checks:run checks:delete issues:read",
        )
        .expect("every documented scope");
        assert_eq!(all, PulseScopes::all());
        // SiteGPT's scopes and near misses are not SitePulse's.
        for bad in ["account:read", "sites", "sites:", "Sites:read", "checks:write", "issues:write", "teams:delete", ""]
        {
            assert!(bad.parse::<PulseScope>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            PulseScopes::parse_space_separated("sites:read chatbots:read"),
            Err(UnknownScope("chatbots:read".into()))
        );
    }

    #[test]
    fn the_documented_combinations() {
        let names = |p: &Preset| p.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
        let combos: Vec<String> = PRESETS.iter().map(names).collect();
        assert_eq!(
            combos,
            [
                "teams:read sites:read checks:read issues:read",
                "teams:read teams:write",
                "teams:read sites:read sites:write checks:read issues:read",
                "teams:read sites:read checks:read checks:run",
            ]
        );
    }

    #[test]
    fn sets_serialize_as_the_store_keeps_them() {
        let set: PulseScopes = [PulseScope::ChecksRun, PulseScope::TeamsRead].into_iter().collect();
        assert_eq!(set.to_space_separated(), "teams:read checks:run", "catalog order");
        assert_eq!(serde_json::to_string(&set.to_vec()).expect("json"), r#"["teams:read","checks:run"]"#);
        assert_eq!(format!("{set:?}"), r#"{"teams:read", "checks:run"}"#);
    }
}
