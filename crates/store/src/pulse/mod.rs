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
use sitegpt_access::sitepulse::{Permissions, PulseScopes, TeamRole};

use crate::StoreResult;

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
    /// The stored password hash of the user with this address, for sign-in.
    async fn password_hash(&self, email: &str) -> StoreResult<Option<(PulseUser, String)>>;
    /// Marks the address verified (once; later calls keep the first time).
    async fn verify_email(&self, user_id: &str, at: DateTime<Utc>) -> StoreResult<()>;

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

    // --- sites ----------------------------------------------------------------

    /// Creates a site, first due at once. `Conflict` when the team has as
    /// many sites as its plan allows.
    async fn create_site(&self, new: NewSite) -> StoreResult<Site>;
    async fn site(&self, site_id: &str) -> StoreResult<Option<Site>>;
    async fn sites_of(&self, team_id: &str) -> StoreResult<Vec<Site>>;
    async fn update_site(&self, site_id: &str, patch: SitePatch, at: DateTime<Utc>) -> StoreResult<Site>;
    /// Deletes a site with its check runs and issues.
    async fn delete_site(&self, site_id: &str) -> StoreResult<()>;
}
