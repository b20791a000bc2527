//! SitePulse v1's authorization decision, as pure functions. Its order is
//! its documentation's, and differs from SiteGPT's:
//!
//! | step | check                                                        | denial                 | answer |
//! |------|--------------------------------------------------------------|------------------------|--------|
//! | 1    | a bearer token that is known, not revoked, not expired       | `Unauthenticated`, `TokenRevoked`, `TokenExpired` | 401 |
//! | 2    | its owner's e-mail address is verified (every `/api/v1` route) | `EmailNotVerified`   | 401 |
//! | 3    | the route's minimum scope is in the token                    | `InsufficientScope`    | 403 |
//! | 4    | the owner belongs to the team in the URL, or the team the site, check or issue belongs to | `NotFound` | 404 |
//! | 5    | the team has an active plan                                  | `SubscriptionRequired` | 402 |
//! | 6    | the owner's team permissions allow the action                | `Forbidden`            | 403 |
//!
//! Steps 1–3 need only the token ([`admit`]); steps 4–6 the team the route
//! acts in ([`authorize_team`]). The token's revocation and expiry are
//! judged as SiteGPT's are ([`crate::expiry::lapse`]); the scope check is
//! the engine's scope set.

use chrono::{DateTime, Months, Utc};

use super::scope::{PulseScope, PulseScopes};
use crate::expiry::{Lapse, lapse};

/// Personal access tokens expire six months after they are created.
pub const TOKEN_LIFETIME_MONTHS: u32 = 6;

/// When a token created at `created_at` expires: six calendar months later
/// (the last day of a shorter month when the day does not exist).
pub fn token_expiry(created_at: DateTime<Utc>) -> DateTime<Utc> {
    created_at.checked_add_months(Months::new(TOKEN_LIFETIME_MONTHS)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a verified personal access token says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulseToken {
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub scopes: PulseScopes,
    pub owner_email_verified: bool,
}

/// What the request presented.
#[derive(Debug, Clone, Copy)]
pub enum PulseCredential<'a> {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <well-formed token>`.
    Malformed,
    /// Well-formed, but no stored token has its hash.
    Unknown,
    Found(&'a PulseToken),
}

/// What a team member may do beyond reading, as a team grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Permission {
    UpdateTeam,
    CreateSite,
    UpdateSite,
    DeleteSite,
    RunChecks,
    DeleteChecks,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::UpdateTeam,
        Permission::CreateSite,
        Permission::UpdateSite,
        Permission::DeleteSite,
        Permission::RunChecks,
        Permission::DeleteChecks,
    ];

    /// The name the documentation and the API use (`createSite`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::UpdateTeam => "updateTeam",
            Permission::CreateSite => "createSite",
            Permission::UpdateSite => "updateSite",
            Permission::DeleteSite => "deleteSite",
            Permission::RunChecks => "runChecks",
            Permission::DeleteChecks => "deleteChecks",
        }
    }

    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The scope a token needs for a route that takes this permission:
    /// `sites:write` satisfies `createSite` and `updateSite`.
    pub const fn scope(self) -> PulseScope {
        match self {
            Permission::UpdateTeam => PulseScope::TeamsWrite,
            Permission::CreateSite | Permission::UpdateSite => PulseScope::SitesWrite,
            Permission::DeleteSite => PulseScope::SitesDelete,
            Permission::RunChecks => PulseScope::ChecksRun,
            Permission::DeleteChecks => PulseScope::ChecksDelete,
        }
    }
}

/// A member's permissions in a team, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);

    pub fn all() -> Permissions {
        Permission::ALL.into_iter().collect()
    }

    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & (1 << permission as u8) != 0
    }

    #[must_use]
    pub const fn with(self, permission: Permission) -> Permissions {
        Permissions(self.0 | (1 << permission as u8))
    }

    #[must_use]
    pub const fn without(self, permission: Permission) -> Permissions {
        Permissions(self.0 & !(1 << permission as u8))
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Comma-separated names, as the store keeps them.
    pub fn to_stored(self) -> String {
        self.iter().map(Permission::as_str).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form; `None` if a name is not a permission.
    pub fn from_stored(text: &str) -> Option<Permissions> {
        text.split(',').filter(|name| !name.is_empty()).map(Permission::parse).collect()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(Permissions::NONE, Permissions::with)
    }
}

/// A member's role in a team: what it grants unless the team changed the
/// member's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamRole {
    /// Everything; a team always has one.
    Owner,
    /// Everything.
    Admin,
    /// Manages sites and runs checks; cannot delete sites or check runs or
    /// change the team's defaults.
    Member,
    /// Reads only.
    Viewer,
}

impl TeamRole {
    pub const ALL: [TeamRole; 4] = [TeamRole::Owner, TeamRole::Admin, TeamRole::Member, TeamRole::Viewer];

    pub const fn as_str(self) -> &'static str {
        match self {
            TeamRole::Owner => "owner",
            TeamRole::Admin => "admin",
            TeamRole::Member => "member",
            TeamRole::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Option<TeamRole> {
        TeamRole::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The permissions a new member with this role gets.
    pub fn default_permissions(self) -> Permissions {
        match self {
            TeamRole::Owner | TeamRole::Admin => Permissions::all(),
            TeamRole::Member => {
                [Permission::CreateSite, Permission::UpdateSite, Permission::RunChecks].into_iter().collect()
            }
            TeamRole::Viewer => Permissions::NONE,
        }
    }
}

/// The caller's standing in the team a route acts in; `None` (to
/// [`authorize_team`]) when the caller is not a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamStanding {
    pub permissions: Permissions,
    pub subscription_active: bool,
}

/// What a route declares: its minimum scope and, for actions beyond
/// reading, the team permission it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulseRule {
    pub scope: PulseScope,
    pub permission: Option<Permission>,
}

impl PulseRule {
    /// A read: the scope, then membership and plan.
    pub const fn read(scope: PulseScope) -> PulseRule {
        PulseRule { scope, permission: None }
    }

    /// An action that takes a team permission, under the scope that
    /// satisfies it.
    pub const fn act(permission: Permission) -> PulseRule {
        PulseRule { scope: permission.scope(), permission: Some(permission) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    Missing,
    Malformed,
    Unknown,
}

/// Why a request is refused; each maps to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PulseDenial {
    Unauthenticated(Unauthenticated),
    TokenRevoked,
    TokenExpired,
    EmailNotVerified,
    InsufficientScope(PulseScope),
    NotFound,
    SubscriptionRequired,
    Forbidden(Permission),
}

impl PulseDenial {
    /// The `message` of the error body.
    pub fn message(&self) -> String {
        match self {
            PulseDenial::Unauthenticated(Unauthenticated::Missing) => {
                "Unauthenticated. Send `Authorization: Bearer <token>` with a personal access token.".into()
            }
            PulseDenial::Unauthenticated(_) => "Unauthenticated. The bearer token is not valid.".into(),
            PulseDenial::TokenRevoked => "Unauthenticated. The token has been revoked.".into(),
            PulseDenial::TokenExpired => {
                "Unauthenticated. The token has expired: create a new one under Settings → API tokens.".into()
            }
            PulseDenial::EmailNotVerified => {
                "Unauthenticated. The token owner's e-mail address is not verified: verify it, then retry.".into()
            }
            PulseDenial::InsufficientScope(scope) => {
                format!("The token lacks the `{scope}` scope this route requires.")
            }
            PulseDenial::NotFound => "Not found.".into(),
            PulseDenial::SubscriptionRequired => "An active team subscription is required.".into(),
            PulseDenial::Forbidden(permission) => {
                format!(
                    "This action is unauthorized: your role in this team does not include `{}`.",
                    permission.as_str()
                )
            }
        }
    }
}

/// Steps 1–2: a live token of an owner whose e-mail is verified (what an
/// endpoint without a route scope, such as MCP's, admits on).
pub fn authenticate(credential: PulseCredential<'_>, now: DateTime<Utc>) -> Result<&PulseToken, PulseDenial> {
    let token = match credential {
        PulseCredential::Missing => return Err(PulseDenial::Unauthenticated(Unauthenticated::Missing)),
        PulseCredential::Malformed => return Err(PulseDenial::Unauthenticated(Unauthenticated::Malformed)),
        PulseCredential::Unknown => return Err(PulseDenial::Unauthenticated(Unauthenticated::Unknown)),
        PulseCredential::Found(token) => token,
    };
    match lapse(token.revoked_at, token.expires_at, now) {
        Some(Lapse::Revoked) => return Err(PulseDenial::TokenRevoked),
        Some(Lapse::Expired) => return Err(PulseDenial::TokenExpired),
        None => {}
    }
    if !token.owner_email_verified {
        return Err(PulseDenial::EmailNotVerified);
    }
    Ok(token)
}

/// Steps 1–3: the token, its owner's e-mail, the route's scope.
pub fn admit<'a>(
    credential: PulseCredential<'a>,
    rule: PulseRule,
    now: DateTime<Utc>,
) -> Result<&'a PulseToken, PulseDenial> {
    let token = authenticate(credential, now)?;
    if !token.scopes.contains(rule.scope) {
        return Err(PulseDenial::InsufficientScope(rule.scope));
    }
    Ok(token)
}

/// Steps 4–6 for the team the route acts in (named in the URL, or the
/// team of the site, check or issue it names): `None` when the caller is
/// not a member, or the record does not exist.
pub fn authorize_team(rule: PulseRule, standing: Option<TeamStanding>) -> Result<(), PulseDenial> {
    let standing = standing.ok_or(PulseDenial::NotFound)?;
    if !standing.subscription_active {
        return Err(PulseDenial::SubscriptionRequired);
    }
    match rule.permission {
        Some(permission) if !standing.permissions.contains(permission) => Err(PulseDenial::Forbidden(permission)),
        _ => Ok(()),
    }
}

/// The whole decision, steps 1–6 in order.
pub fn decide(
    credential: PulseCredential<'_>,
    rule: PulseRule,
    standing: Option<TeamStanding>,
    now: DateTime<Utc>,
) -> Result<(), PulseDenial> {
    admit(credential, rule, now)?;
    authorize_team(rule, standing)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().expect("a time")
    }

    fn token(scopes: &[PulseScope]) -> PulseToken {
        PulseToken {
            expires_at: token_expiry(at(2026, 6, 1)),
            revoked_at: None,
            scopes: scopes.iter().copied().collect(),
            owner_email_verified: true,
        }
    }

    const ACTIVE_MEMBER: TeamStanding = TeamStanding {
        permissions: Permissions::NONE.with(Permission::CreateSite).with(Permission::UpdateSite),
        subscription_active: true,
    };

    #[test]
    fn tokens_expire_six_calendar_months_after_creation() {
        assert_eq!(token_expiry(at(2026, 6, 1)), at(2026, 12, 1));
        assert_eq!(token_expiry(at(2026, 8, 31)), at(2027, 2, 28), "no 31 February");
        assert_eq!(token_expiry(at(2027, 8, 31)), at(2028, 2, 29), "a leap year");
        let created = at(2026, 6, 1);
        let live = token(&[PulseScope::SitesRead]);
        let rule = PulseRule::read(PulseScope::SitesRead);
        let cred = PulseCredential::Found(&live);
        assert!(admit(cred, rule, token_expiry(created) - chrono::Duration::seconds(1)).is_ok());
        assert_eq!(admit(cred, rule, token_expiry(created)), Err(PulseDenial::TokenExpired), "from its expiry on");
    }

    /// The documentation's order, row by row: each row's case passes every
    /// earlier step and fails its own, whatever the later steps would say.
    #[test]
    fn the_decision_order_row_by_row() {
        let now = at(2026, 9, 1);
        let write = PulseRule::act(Permission::CreateSite);
        let good = token(&[PulseScope::SitesRead, PulseScope::SitesWrite]);
        let revoked = PulseToken { revoked_at: Some(at(2026, 7, 1)), ..good.clone() };
        let expired = PulseToken { expires_at: at(2026, 8, 1), ..good.clone() };
        let unverified = PulseToken { owner_email_verified: false, ..good.clone() };
        let narrow = token(&[PulseScope::SitesRead]);
        let lapsed = TeamStanding { subscription_active: false, ..ACTIVE_MEMBER };
        let viewer = TeamStanding { permissions: TeamRole::Viewer.default_permissions(), ..ACTIVE_MEMBER };
        let rows: Vec<(PulseCredential<'_>, Option<TeamStanding>, Result<(), PulseDenial>)> = vec![
            (
                PulseCredential::Missing,
                Some(ACTIVE_MEMBER),
                Err(PulseDenial::Unauthenticated(Unauthenticated::Missing)),
            ),
            (
                PulseCredential::Unknown,
                Some(ACTIVE_MEMBER),
                Err(PulseDenial::Unauthenticated(Unauthenticated::Unknown)),
            ),
            (PulseCredential::Found(&revoked), Some(ACTIVE_MEMBER), Err(PulseDenial::TokenRevoked)),
            (PulseCredential::Found(&expired), Some(ACTIVE_MEMBER), Err(PulseDenial::TokenExpired)),
            // Unverified beats a missing scope and a foreign team.
            (PulseCredential::Found(&unverified), None, Err(PulseDenial::EmailNotVerified)),
            // A missing scope is 403 even where the role would allow the action.
            (
                PulseCredential::Found(&narrow),
                Some(ACTIVE_MEMBER),
                Err(PulseDenial::InsufficientScope(PulseScope::SitesWrite)),
            ),
            (PulseCredential::Found(&narrow), None, Err(PulseDenial::InsufficientScope(PulseScope::SitesWrite))),
            // Not a member: 404 before the plan and the role are looked at.
            (PulseCredential::Found(&good), None, Err(PulseDenial::NotFound)),
            (PulseCredential::Found(&good), Some(lapsed), Err(PulseDenial::SubscriptionRequired)),
            (
                PulseCredential::Found(&good),
                Some(TeamStanding { subscription_active: false, ..viewer }),
                Err(PulseDenial::SubscriptionRequired),
            ),
            // The scope is there; the member's permissions are not.
            (PulseCredential::Found(&good), Some(viewer), Err(PulseDenial::Forbidden(Permission::CreateSite))),
            (PulseCredential::Found(&good), Some(ACTIVE_MEMBER), Ok(())),
        ];
        for (i, (credential, standing, expected)) in rows.into_iter().enumerate() {
            assert_eq!(decide(credential, write, standing, now), expected, "row {i}");
        }
        // Reads take no permission: a viewer with the scope reads.
        assert_eq!(
            decide(PulseCredential::Found(&good), PulseRule::read(PulseScope::SitesRead), Some(viewer), now),
            Ok(())
        );
    }

    #[test]
    fn the_402_message_is_the_documented_one() {
        assert_eq!(PulseDenial::SubscriptionRequired.message(), "An active team subscription is required.");
    }

    #[test]
    fn sites_write_satisfies_create_and_update_site() {
        assert_eq!(PulseRule::act(Permission::CreateSite).scope, PulseScope::SitesWrite);
        assert_eq!(PulseRule::act(Permission::UpdateSite).scope, PulseScope::SitesWrite);
        assert_eq!(PulseRule::act(Permission::DeleteSite).scope, PulseScope::SitesDelete);
        assert_eq!(PulseRule::act(Permission::RunChecks).scope, PulseScope::ChecksRun);
        assert_eq!(PulseRule::act(Permission::DeleteChecks).scope, PulseScope::ChecksDelete);
        assert_eq!(PulseRule::act(Permission::UpdateTeam).scope, PulseScope::TeamsWrite);
        // A member whose team took away site creation cannot create sites
        // with `sites:write`, but can still update them.
        let member = TeamStanding {
            permissions: TeamRole::Member.default_permissions().without(Permission::CreateSite),
            subscription_active: true,
        };
        assert_eq!(
            authorize_team(PulseRule::act(Permission::CreateSite), Some(member)),
            Err(PulseDenial::Forbidden(Permission::CreateSite))
        );
        assert_eq!(authorize_team(PulseRule::act(Permission::UpdateSite), Some(member)), Ok(()));
    }

    #[test]
    fn roles_and_permissions_round_trip_their_stored_forms() {
        for role in TeamRole::ALL {
            assert_eq!(TeamRole::parse(role.as_str()), Some(role));
            let permissions = role.default_permissions();
            assert_eq!(Permissions::from_stored(&permissions.to_stored()), Some(permissions));
        }
        assert_eq!(TeamRole::Owner.default_permissions(), Permissions::all());
        assert_eq!(TeamRole::Member.default_permissions().to_stored(), "createSite,updateSite,runChecks");
        assert_eq!(Permissions::from_stored(""), Some(Permissions::NONE));
        assert_eq!(Permissions::from_stored("createSite,fly"), None);
        assert_eq!(TeamRole::parse("Owner"), None);
    }
}
