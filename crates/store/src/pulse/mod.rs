//! Storage for SitePulse, the second product: the [`PulseStore`] trait its
//! server talks to and the records it hands out. Its schema is its own
//! (its own file or database, its own migrations); the engines under it are
//! the same ones SiteGPT's store runs on (the SQLite writer with group
//! commit, the auth epoch, the one-server lock).
//!
//! Every write that can change an authorization decision (a token revoked,
//! an e-mail verified, a membership or its permissions changed, a plan
//! changed) advances the auth epoch in its transaction, as in SiteGPT's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sitegpt_access::TokenHash;
use sitegpt_access::sitepulse::{Permissions, PulseResource, PulseScopes, TeamRole};

use crate::{OAuthClient, RedeemOutcome, RefreshOutcome, StoreResult};

pub(crate) mod rows;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPulseUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

/// What a team's plan allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLimits {
    pub plan: String,
    pub max_sites: u32,
    /// The shortest cadence a site of the team may be checked at.
    pub min_cadence_seconds: u32,
}

/// How the team's sites are monitored unless a site says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitoringDefaults {
    pub cadence_seconds: u32,
    /// Consecutive failed checks that open an issue.
    pub failure_threshold: u32,
    /// Minutes an issue stays open before it is escalated (`None`: never).
    pub escalation_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub limits: PlanLimits,
    pub subscription_active: bool,
    pub defaults: MonitoringDefaults,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: String,
    pub limits: PlanLimits,
    pub subscription_active: bool,
    pub defaults: MonitoringDefaults,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub team_id: String,
    pub user_id: String,
    pub role: TeamRole,
    pub permissions: Permissions,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPulseToken {
    pub user_id: String,
    pub name: String,
    pub hash: TokenHash,
    /// The last characters of the plaintext, to tell tokens apart in lists.
    pub hint: String,
    pub scopes: PulseScopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a person approved on the consent page, with its authorization code.
#[derive(Debug, Clone)]
pub struct NewPulseGrant {
    pub client_id: String,
    pub user_id: String,
    pub scopes: PulseScopes,
    pub resource: PulseResource,
    pub redirect_uri: String,
    pub code_hash: [u8; 32],
    /// The `S256` PKCE challenge.
    pub code_challenge: String,
    pub now: DateTime<Utc>,
    pub code_expires_at: DateTime<Utc>,
}

/// A person's approval of an OAuth client, from which access and refresh
/// tokens are issued until it is revoked or left unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseGrant {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub user_id: String,
    pub scopes: PulseScopes,
    pub resource: PulseResource,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_expires_at: DateTime<Utc>,
    pub code_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What one use of a code or refresh token issues: an access token (its
/// grant and audience are set by the store, from the grant) and the next
/// refresh token's hash.
#[derive(Debug, Clone)]
pub struct PulseGrantIssue {
    pub token: NewPulseToken,
    pub refresh_hash: [u8; 32],
}

/// A personal access token as stored: never its plaintext or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseTokenRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub hint: String,
    pub scopes: PulseScopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The resource an OAuth token was issued for; `None` for tokens made in
    /// the dashboard, which serve both.
    pub audience: Option<PulseResource>,
}

/// A token found by its hash, with what the decision needs of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseTokenAuth {
    pub token: PulseTokenRecord,
    pub owner_email_verified: bool,
}

/// What the last checks said of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteStatus {
    /// Not checked yet.
    Unknown,
    Up,
    Down,
}

impl SiteStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SiteStatus::Unknown => "unknown",
            SiteStatus::Up => "up",
            SiteStatus::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<SiteStatus> {
        [SiteStatus::Unknown, SiteStatus::Up, SiteStatus::Down].into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub url: String,
    /// Its own cadence; `None`: the team's.
    pub cadence_seconds: Option<u32>,
    pub paused: bool,
    pub status: SiteStatus,
    pub consecutive_failures: u32,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewSite {
    pub team_id: String,
    pub name: String,
    pub url: String,
    pub cadence_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// A change to a site; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SitePatch {
    pub name: Option<String>,
    pub url: Option<String>,
    /// `Some(None)` goes back to the team's cadence.
    pub cadence_seconds: Option<Option<u32>>,
    pub paused: Option<bool>,
}

/// What started a check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    /// The site's cadence.
    Scheduled,
    /// Queued through the API or the dashboard.
    Manual,
}

impl RunTrigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Scheduled => "scheduled",
            RunTrigger::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<RunTrigger> {
        [RunTrigger::Scheduled, RunTrigger::Manual].into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a check run is: waiting, being run by a node, or its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    Up,
    Down,
}

impl RunStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Up => "up",
            RunStatus::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        [RunStatus::Queued, RunStatus::Running, RunStatus::Up, RunStatus::Down].into_iter().find(|v| v.as_str() == s)
    }
}

/// One check of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub id: String,
    pub site_id: String,
    pub team_id: String,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub redirects: Option<u32>,
    pub final_url: Option<String>,
    pub tls_expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// A run a node claimed, with what it needs to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRun {
    pub run: CheckRun,
    pub url: String,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub up: bool,
    pub finished_at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub redirects: Option<u32>,
    pub final_url: Option<String>,
    pub tls_expires_at: Option<DateTime<Utc>>,
    /// Why the check failed, in a sentence (none when up).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueStatus {
    Open,
    Resolved,
}

impl IssueStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Open => "open",
            IssueStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<IssueStatus> {
        [IssueStatus::Open, IssueStatus::Resolved].into_iter().find(|v| v.as_str() == s)
    }
}

/// A monitoring incident: a site failing the team's threshold of
/// consecutive checks, until a check passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub id: String,
    pub site_id: String,
    pub team_id: String,
    pub status: IssueStatus,
    /// The failure that opened it.
    pub cause: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The run that opened it, and the latest run of the site while open.
    pub first_run_id: String,
    pub last_run_id: String,
    /// When it had been open for the team's `escalation_minutes`.
    pub escalated_at: Option<DateTime<Utc>>,
}

/// A finished run and what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub run: CheckRun,
    pub site: Site,
    /// The issue this run opened, if it did.
    pub opened: Option<Issue>,
    /// The issue this run resolved, if it did.
    pub resolved: Option<Issue>,
}

/// An e-mail address as stored and compared: trimmed and lower-cased.
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// How often a site is checked: its own cadence or the team's, never more
/// often than the plan allows.
pub fn effective_cadence(site: Option<u32>, team: &Team) -> u32 {
    site.unwrap_or(team.defaults.cadence_seconds).max(team.limits.min_cadence_seconds)
}

/// What a finished run does to its site's open issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssueChange {
    None,
    /// The site reached the threshold: open one.
    Open,
    /// Still failing: the open issue's latest run is this one.
    Extend(String),
    /// Passing again: resolve it.
    Resolve(String),
}

/// The site's consecutive failures after a run, and what the run does to
/// the site's open issue (engines apply it in the run's transaction).
pub(crate) fn after_run(up: bool, failures: u32, threshold: u32, open_issue: Option<String>) -> (u32, IssueChange) {
    match (up, open_issue) {
        (true, Some(issue)) => (0, IssueChange::Resolve(issue)),
        (true, None) => (0, IssueChange::None),
        (false, Some(issue)) => (failures.saturating_add(1), IssueChange::Extend(issue)),
        (false, None) => {
            let failures = failures.saturating_add(1);
            (failures, if failures >= threshold { IssueChange::Open } else { IssueChange::None })
        }
    }
}

/// The cause an issue records for a failed run.
pub(crate) fn cause(outcome: &RunOutcome) -> String {
    match (&outcome.error, outcome.http_status) {
        (Some(error), _) => error.clone(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "the check failed".into(),
    }
}

/// The storage interface of SitePulse's server.
#[async_trait]
pub trait PulseStore: Send + Sync + std::fmt::Debug + 'static {
    /// Changes whenever a committed write may have changed an authorization
    /// decision. Cheap: called on every request.
    fn auth_epoch(&self) -> StoreResult<u64>;

    // --- users -------------------------------------------------------------

    /// `Conflict` when the e-mail address is taken (compared without case).
    async fn create_user(&self, new: NewPulseUser) -> StoreResult<PulseUser>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<PulseUser>>;
    /// How many users there are (the first start says how to make one).
    async fn user_count(&self) -> StoreResult<u64>;
    /// The stored password hash of the user with this address, for sign-in.
    async fn password_hash(&self, email: &str) -> StoreResult<Option<(PulseUser, String)>>;
    /// Marks the address verified (once; later calls keep the first time).
    async fn verify_email(&self, user_id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    // --- dashboard sessions --------------------------------------------------

    /// Stores a session by the SHA-256 of its id.
    async fn create_session(
        &self,
        id_hash: [u8; 32],
        user_id: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The user of a session that has not ended at `now`.
    async fn session_user(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<PulseUser>>;
    /// Ends a session (signing out); ending one that is gone is no error.
    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()>;
    /// Deletes sessions that ended before `now`; how many.
    async fn purge_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    // --- teams and members -------------------------------------------------

    /// Creates a team with `owner_id` as its owner, in one transaction.
    async fn create_team(&self, new: NewTeam, owner_id: &str) -> StoreResult<Team>;
    async fn team(&self, team_id: &str) -> StoreResult<Option<Team>>;
    /// The user's teams with their membership, oldest membership first.
    async fn teams_of(&self, user_id: &str) -> StoreResult<Vec<(Team, TeamMember)>>;
    async fn member(&self, team_id: &str, user_id: &str) -> StoreResult<Option<TeamMember>>;
    /// Adds a member with the role's permissions, or `permissions` when
    /// given. `Conflict` if already a member.
    async fn add_member(
        &self,
        team_id: &str,
        user_id: &str,
        role: TeamRole,
        permissions: Option<Permissions>,
        at: DateTime<Utc>,
    ) -> StoreResult<TeamMember>;
    async fn set_member_permissions(&self, team_id: &str, user_id: &str, permissions: Permissions) -> StoreResult<()>;
    /// Removes a member; a team's last owner stays (`Conflict`).
    async fn remove_member(&self, team_id: &str, user_id: &str) -> StoreResult<()>;
    async fn set_subscription(&self, team_id: &str, active: bool) -> StoreResult<()>;
    async fn set_defaults(&self, team_id: &str, defaults: MonitoringDefaults) -> StoreResult<Team>;

    // --- personal access tokens --------------------------------------------

    async fn create_token(&self, new: NewPulseToken) -> StoreResult<PulseTokenRecord>;
    /// The user's tokens, newest first, revoked ones included.
    async fn tokens_of(&self, user_id: &str) -> StoreResult<Vec<PulseTokenRecord>>;
    /// Revokes the user's token (`NotFound` for another user's); revoking
    /// twice keeps the first time.
    async fn revoke_token(&self, user_id: &str, token_id: &str, at: DateTime<Utc>) -> StoreResult<PulseTokenRecord>;
    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<PulseTokenAuth>>;
    async fn touch_token(&self, token_id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    // --- OAuth (authorization code) -------------------------------------------

    /// Stores a registered client.
    async fn save_client(&self, client: OAuthClient) -> StoreResult<()>;
    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>>;
    /// Stores an approval and its code; returns the grant's id.
    async fn create_grant(&self, grant: NewPulseGrant) -> StoreResult<String>;
    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>>;
    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>>;
    /// Redeems a code once, in one transaction: the access token and the
    /// first refresh token, or why not. A second use revokes the grant and
    /// every token issued from it.
    async fn redeem_code(
        &self,
        code_hash: [u8; 32],
        issue: PulseGrantIssue,
    ) -> StoreResult<RedeemOutcome<PulseTokenRecord>>;
    /// Uses a refresh token (once, but for `grace` after it was superseded)
    /// of a grant used within `idle`; a use after the grace revokes the grant.
    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: PulseGrantIssue,
        grace: chrono::Duration,
        idle: chrono::Duration,
    ) -> StoreResult<RefreshOutcome<PulseTokenRecord>>;
    /// The user's live, redeemed grants (the apps they connected), newest first.
    async fn grants_of(&self, user_id: &str) -> StoreResult<Vec<PulseGrant>>;
    /// Revokes the user's grant and its tokens (`NotFound` for another user's).
    async fn revoke_grant(&self, user_id: &str, grant_id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    // --- sites ----------------------------------------------------------------

    /// Creates a site, first due at once. `Conflict` when the team has as
    /// many sites as its plan allows.
    async fn create_site(&self, new: NewSite) -> StoreResult<Site>;
    async fn site(&self, site_id: &str) -> StoreResult<Option<Site>>;
    async fn sites_of(&self, team_id: &str) -> StoreResult<Vec<Site>>;
    async fn update_site(&self, site_id: &str, patch: SitePatch, at: DateTime<Utc>) -> StoreResult<Site>;
    /// Deletes a site with its check runs and issues.
    async fn delete_site(&self, site_id: &str) -> StoreResult<()>;

    // --- check runs and issues ----------------------------------------------

    /// Queues a manual run of the site. `Conflict` while one of its runs
    /// waits or runs.
    async fn queue_run(&self, site_id: &str, at: DateTime<Utc>) -> StoreResult<CheckRun>;
    async fn check_run(&self, run_id: &str) -> StoreResult<Option<CheckRun>>;
    /// The site's runs, newest first, at most `limit`.
    async fn runs_of_site(&self, site_id: &str, limit: usize) -> StoreResult<Vec<CheckRun>>;
    /// Deletes a manual run; `Conflict` for a scheduled one or one running.
    async fn delete_run(&self, run_id: &str) -> StoreResult<()>;
    /// Queues a scheduled run of every site due at `now` (unless one of its
    /// runs already waits) and moves the site's next check a cadence on,
    /// then claims up to `limit` waiting runs for `node` until `now + lease`
    /// (runs whose claim lapsed are claimed again). Each run is claimed by
    /// one node.
    async fn claim_runs(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedRun>>;
    /// Records what `node` found; opens an issue when the site reaches the
    /// team's threshold of consecutive failures, resolves it when a check
    /// passes. `None` when the node no longer holds the claim (it lapsed
    /// and another node took the run, or the run was deleted).
    async fn finish_run(&self, run_id: &str, node: &str, outcome: RunOutcome) -> StoreResult<Option<Finished>>;
    /// Marks escalated, at `now`, every open issue that has been open for
    /// its team's `escalation_minutes` and was not escalated yet; those.
    async fn escalate_issues(&self, now: DateTime<Utc>) -> StoreResult<Vec<Issue>>;
    /// The team's issues, newest first; only open ones when `open_only`.
    async fn issues_of_team(&self, team_id: &str, open_only: bool) -> StoreResult<Vec<Issue>>;
    async fn issue(&self, issue_id: &str) -> StoreResult<Option<Issue>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_opens_at_the_threshold_stays_open_while_failing_and_resolves_on_a_pass() {
        assert_eq!(after_run(false, 0, 3, None), (1, IssueChange::None));
        assert_eq!(after_run(false, 1, 3, None), (2, IssueChange::None));
        assert_eq!(after_run(false, 2, 3, None), (3, IssueChange::Open));
        assert_eq!(after_run(false, 3, 3, Some("iss_1".into())), (4, IssueChange::Extend("iss_1".into())));
        assert_eq!(after_run(true, 4, 3, Some("iss_1".into())), (0, IssueChange::Resolve("iss_1".into())));
        assert_eq!(after_run(true, 2, 3, None), (0, IssueChange::None), "a pass resets the count");
        assert_eq!(after_run(false, 0, 1, None), (1, IssueChange::Open), "a threshold of one");
        // A team that lowered its threshold below the count opens one at
        // the next failure.
        assert_eq!(after_run(false, 7, 5, None), (8, IssueChange::Open));
        assert_eq!(after_run(false, u32::MAX, 3, None), (u32::MAX, IssueChange::Open));
    }

    #[test]
    fn cadence_is_the_sites_or_the_teams_within_the_plan() {
        let team = Team {
            id: "team_1".into(),
            name: "Ops".into(),
            limits: PlanLimits { plan: "starter".into(), max_sites: 5, min_cadence_seconds: 60 },
            subscription_active: true,
            defaults: MonitoringDefaults { cadence_seconds: 300, failure_threshold: 3, escalation_minutes: None },
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        assert_eq!(effective_cadence(None, &team), 300);
        assert_eq!(effective_cadence(Some(120), &team), 120);
        assert_eq!(effective_cadence(Some(10), &team), 60, "never below the plan's");
    }

    #[test]
    fn causes_say_what_failed() {
        let outcome = |http_status, error: Option<&str>| RunOutcome {
            up: false,
            finished_at: chrono::DateTime::UNIX_EPOCH,
            http_status,
            latency_ms: None,
            redirects: None,
            final_url: None,
            tls_expires_at: None,
            error: error.map(str::to_owned),
        };
        assert_eq!(cause(&outcome(Some(503), None)), "HTTP 503");
        assert_eq!(cause(&outcome(None, Some("timed out after 10 s"))), "timed out after 10 s");
        assert_eq!(cause(&outcome(None, None)), "the check failed");
    }
}
