//! The route table of API v1: each route with the rule it declares, and
//! the state every handler shares.

use std::sync::Arc;

use sitegpt_access::sitepulse::{Permission, PulseRule, PulseScope};
use sitegpt_store::pulse::PulseStore;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn PulseStore>,
}

/// One route of API v1 and the rule it declares.
#[derive(Debug, Clone, Copy)]
pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub rule: PulseRule,
    pub summary: &'static str,
}

const fn route(method: &'static str, path: &'static str, rule: PulseRule, summary: &'static str) -> ApiRoute {
    ApiRoute { method, path, rule, summary }
}

use PulseScope::*;

/// Every route, its minimum scope and, beyond reading, the team permission.
pub const ROUTES: &[ApiRoute] = &[
    route("GET", "/api/v1/teams", PulseRule::read(TeamsRead), "List your teams"),
    route(
        "GET",
        "/api/v1/teams/{team}",
        PulseRule::read(TeamsRead),
        "Read a team, its plan limits and monitoring defaults",
    ),
    route(
        "PATCH",
        "/api/v1/teams/{team}",
        PulseRule::act(Permission::UpdateTeam),
        "Update the team's monitoring defaults",
    ),
    route("GET", "/api/v1/teams/{team}/sites", PulseRule::read(SitesRead), "List the team's sites"),
    route("POST", "/api/v1/teams/{team}/sites", PulseRule::act(Permission::CreateSite), "Create a site"),
    route("GET", "/api/v1/sites/{site}", PulseRule::read(SitesRead), "Read a site"),
    route("PATCH", "/api/v1/sites/{site}", PulseRule::act(Permission::UpdateSite), "Update a site"),
    route("DELETE", "/api/v1/sites/{site}", PulseRule::act(Permission::DeleteSite), "Delete a site"),
    route("GET", "/api/v1/sites/{site}/checks", PulseRule::read(ChecksRead), "List a site's check runs"),
    route("POST", "/api/v1/sites/{site}/checks", PulseRule::act(Permission::RunChecks), "Queue a manual check run"),
    route("GET", "/api/v1/checks/{check}", PulseRule::read(ChecksRead), "Read a check run and its result"),
    route("DELETE", "/api/v1/checks/{check}", PulseRule::act(Permission::DeleteChecks), "Delete a manual check run"),
    route("GET", "/api/v1/teams/{team}/issues", PulseRule::read(IssuesRead), "List the team's issues"),
    route("GET", "/api/v1/issues/{issue}", PulseRule::read(IssuesRead), "Read an issue"),
];

/// The rule of the route `method` and `path` (the route's template).
pub fn rule_for(method: &str, path: &str) -> Option<PulseRule> {
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.rule)
}
