//! The route table of API v1: each route with the rule it declares, and
//! the state every handler shares.

use std::sync::Arc;

use sitegpt_access::sitepulse::{Permission, PulseRule, PulseScope};
use sitegpt_store::pulse::PulseStore;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn PulseStore>,
    /// Where people and clients reach this server (no trailing slash): the
    /// OAuth issuer and the base of its resources.
    pub public_url: Arc<str>,
    /// Cookies only over https (the server is reached at an https URL).
    pub secure_cookies: bool,
    /// Failed sign-ins per address and e-mail.
    pub sign_in_failures: Arc<sitegpt_server::ratelimit::RateLimiter>,
    /// OAuth client registrations per address.
    pub registrations: Arc<sitegpt_server::ratelimit::RateLimiter>,
}

/// OAuth clients one address may register per window.
pub const REGISTRATIONS: u32 = 30;
pub const REGISTRATION_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// Failed sign-ins one address may make for one e-mail address per window.
pub const SIGN_IN_ATTEMPTS: u32 = 10;
pub const SIGN_IN_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

impl AppState {
    /// The state of a server reached at `public_url`; cookies are `Secure`
    /// when that is an https URL.
    pub fn new(store: Arc<dyn PulseStore>, public_url: &str) -> AppState {
        let limiter = sitegpt_server::ratelimit::RateLimiter::new(SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW);
        let public_url = public_url.trim_end_matches('/');
        AppState {
            store,
            secure_cookies: public_url.starts_with("https://"),
            public_url: public_url.into(),
            sign_in_failures: Arc::new(limiter),
            registrations: Arc::new(sitegpt_server::ratelimit::RateLimiter::new(REGISTRATIONS, REGISTRATION_WINDOW)),
        }
    }
}

/// What a successful answer carries in `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// One record of the named schema.
    One(&'static str),
    /// A list of them.
    List(&'static str),
    /// No body (204).
    Nothing,
}

/// One route of API v1, the rule it declares, and what the API document
/// says of it.
#[derive(Debug, Clone, Copy)]
pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub rule: PulseRule,
    pub operation_id: &'static str,
    pub summary: &'static str,
    /// The status of success.
    pub status: u16,
    pub answers: Answers,
    /// The schema of the JSON body it takes.
    pub body: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
const fn route(
    method: &'static str,
    path: &'static str,
    rule: PulseRule,
    operation_id: &'static str,
    summary: &'static str,
    status: u16,
    answers: Answers,
    body: Option<&'static str>,
) -> ApiRoute {
    ApiRoute { method, path, rule, operation_id, summary, status, answers, body }
}

use Answers::*;
use PulseScope::*;

/// Every route, its minimum scope and, beyond reading, the team permission.
pub const ROUTES: &[ApiRoute] = &[
    route("GET", "/api/v1/teams", PulseRule::read(TeamsRead), "listTeams", "List your teams", 200, List("Team"), None),
    route(
        "GET",
        "/api/v1/teams/{team}",
        PulseRule::read(TeamsRead),
        "getTeam",
        "Read a team, its plan limits and monitoring defaults",
        200,
        One("Team"),
        None,
    ),
    route(
        "PATCH",
        "/api/v1/teams/{team}",
        PulseRule::act(Permission::UpdateTeam),
        "updateTeam",
        "Update the team's monitoring defaults (cadence, thresholds, escalation)",
        200,
        One("Team"),
        Some("TeamUpdate"),
    ),
    route(
        "GET",
        "/api/v1/teams/{team}/sites",
        PulseRule::read(SitesRead),
        "listSites",
        "List the team's sites",
        200,
        List("Site"),
        None,
    ),
    route(
        "POST",
        "/api/v1/teams/{team}/sites",
        PulseRule::act(Permission::CreateSite),
        "createSite",
        "Create a site (within the plan's limit)",
        201,
        One("Site"),
        Some("SiteCreate"),
    ),
    route(
        "GET",
        "/api/v1/sites/{site}",
        PulseRule::read(SitesRead),
        "getSite",
        "Read a site and its monitoring state",
        200,
        One("Site"),
        None,
    ),
    route(
        "PATCH",
        "/api/v1/sites/{site}",
        PulseRule::act(Permission::UpdateSite),
        "updateSite",
        "Update a site",
        200,
        One("Site"),
        Some("SiteUpdate"),
    ),
    route(
        "DELETE",
        "/api/v1/sites/{site}",
        PulseRule::act(Permission::DeleteSite),
        "deleteSite",
        "Delete a site with its check runs and issues",
        204,
        Nothing,
        None,
    ),
    route(
        "GET",
        "/api/v1/sites/{site}/checks",
        PulseRule::read(ChecksRead),
        "listChecks",
        "List a site's check runs, newest first",
        200,
        List("CheckRun"),
        None,
    ),
    route(
        "POST",
        "/api/v1/sites/{site}/checks",
        PulseRule::act(Permission::RunChecks),
        "runCheck",
        "Queue a manual check run",
        202,
        One("CheckRun"),
        None,
    ),
    route(
        "GET",
        "/api/v1/checks/{check}",
        PulseRule::read(ChecksRead),
        "getCheck",
        "Read a check run and its result",
        200,
        One("CheckRun"),
        None,
    ),
    route(
        "DELETE",
        "/api/v1/checks/{check}",
        PulseRule::act(Permission::DeleteChecks),
        "deleteCheck",
        "Delete a manual check run that is not running",
        204,
        Nothing,
        None,
    ),
    route(
        "GET",
        "/api/v1/teams/{team}/issues",
        PulseRule::read(IssuesRead),
        "listIssues",
        "List the team's issues (monitoring incidents), newest first",
        200,
        List("Issue"),
        None,
    ),
    route(
        "GET",
        "/api/v1/issues/{issue}",
        PulseRule::read(IssuesRead),
        "getIssue",
        "Read an issue",
        200,
        One("Issue"),
        None,
    ),
];

/// The rule of the route `method` and `path` (the route's template).
pub fn rule_for(method: &str, path: &str) -> Option<PulseRule> {
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.rule)
}
