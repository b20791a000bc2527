//! Reading SitePulse records out of result rows, for every engine (the
//! engines keep the same columns with the same meaning). The column lists
//! here are the order the decoders expect.

use sitegpt_access::oauth::ResourceKind;
use sitegpt_access::sitepulse::{Permissions, PulseResource, PulseScopes, TeamRole};

use super::{
    CheckRun, Issue, IssueStatus, MonitoringDefaults, NewPulseToken, PlanLimits, PulseGrant, PulseTokenRecord,
    PulseUser, RunStatus, RunTrigger, Site, SiteStatus, Team, TeamMember,
};
use crate::rows::Cells;

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.name, u.email_verified_at, u.created_at";

pub(crate) fn user<R: Cells>(row: &R) -> Result<PulseUser, R::Error> {
    Ok(PulseUser {
        id: row.text(0)?,
        email: row.text(1)?,
        name: row.text(2)?,
        email_verified_at: row.opt_time(3)?,
        created_at: row.time(4)?,
    })
}

pub(crate) const TEAM_COLUMNS: &str = "tm.id, tm.name, tm.plan, tm.max_sites, tm.min_cadence_seconds, \
     tm.subscription_active, tm.cadence_seconds, tm.failure_threshold, tm.escalation_minutes, tm.created_at";

/// A count or a number of seconds kept in an integer column.
fn count<R: Cells>(row: &R, i: usize, what: &str) -> Result<u32, R::Error> {
    let v = row.int(i)?;
    u32::try_from(v).map_err(|_| R::corrupt(what, &v.to_string()))
}

fn opt_count<R: Cells>(row: &R, i: usize, what: &str) -> Result<Option<u32>, R::Error> {
    match row.opt_int(i)? {
        Some(v) => u32::try_from(v).map(Some).map_err(|_| R::corrupt(what, &v.to_string())),
        None => Ok(None),
    }
}

/// Ten cells from `TEAM_COLUMNS`, from `at`.
pub(crate) fn team_at<R: Cells>(row: &R, at: usize) -> Result<Team, R::Error> {
    Ok(Team {
        id: row.text(at)?,
        name: row.text(at + 1)?,
        limits: PlanLimits {
            plan: row.text(at + 2)?,
            max_sites: count(row, at + 3, "max_sites")?,
            min_cadence_seconds: count(row, at + 4, "min_cadence_seconds")?,
        },
        subscription_active: row.int(at + 5)? != 0,
        defaults: MonitoringDefaults {
            cadence_seconds: count(row, at + 6, "cadence_seconds")?,
            failure_threshold: count(row, at + 7, "failure_threshold")?,
            escalation_minutes: opt_count(row, at + 8, "escalation_minutes")?,
        },
        created_at: row.time(at + 9)?,
    })
}

pub(crate) const MEMBER_COLUMNS: &str = "m.team_id, m.user_id, m.role, m.permissions, m.created_at";

/// Five cells from `MEMBER_COLUMNS`, from `at`.
pub(crate) fn member_at<R: Cells>(row: &R, at: usize) -> Result<TeamMember, R::Error> {
    let role = row.text(at + 2)?;
    let permissions = row.text(at + 3)?;
    Ok(TeamMember {
        team_id: row.text(at)?,
        user_id: row.text(at + 1)?,
        role: TeamRole::parse(&role).ok_or_else(|| R::corrupt("role", &role))?,
        permissions: Permissions::from_stored(&permissions).ok_or_else(|| R::corrupt("permissions", &permissions))?,
        created_at: row.time(at + 4)?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str =
    "p.id, p.user_id, p.name, p.hint, p.scopes, p.created_at, p.expires_at, p.revoked_at, p.last_used_at, p.audience";
/// How many columns [`TOKEN_COLUMNS`] has.
pub(crate) const TOKEN_WIDTH: usize = 10;

fn resource<R: Cells>(stored: &str) -> Result<PulseResource, R::Error> {
    PulseResource::parse(stored).ok_or_else(|| R::corrupt("resource", stored))
}

pub(crate) fn token<R: Cells>(row: &R) -> Result<PulseTokenRecord, R::Error> {
    let scopes = row.text(4)?;
    Ok(PulseTokenRecord {
        id: row.text(0)?,
        user_id: row.text(1)?,
        name: row.text(2)?,
        hint: row.text(3)?,
        scopes: PulseScopes::parse_space_separated(&scopes).map_err(|_| R::corrupt("scopes", &scopes))?,
        created_at: row.time(5)?,
        expires_at: row.time(6)?,
        revoked_at: row.opt_time(7)?,
        last_used_at: row.opt_time(8)?,
        audience: row.opt_text(9)?.map(|a| resource::<R>(&a)).transpose()?,
    })
}

/// `$1`… : id, user, name, secret hash, hint, scopes, created, expires.
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO personal_access_tokens (id, user_id, name, secret_hash, hint, \
     scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The record a new token will be, under a fresh id.
pub(crate) fn new_token(new: &NewPulseToken) -> PulseTokenRecord {
    PulseTokenRecord {
        id: sitegpt_access::id::new_prefixed_id("pat_"),
        user_id: new.user_id.clone(),
        name: new.name.clone(),
        hint: new.hint.clone(),
        scopes: new.scopes,
        created_at: new.created_at,
        expires_at: new.expires_at,
        revoked_at: None,
        last_used_at: None,
        audience: None,
    }
}

pub(crate) const INSERT_GRANT: &str = "INSERT INTO oauth_grants (id, client_id, user_id, scopes, resource, \
     redirect_uri, code_hash, code_challenge, code_expires_at, created_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";

pub(crate) const GRANT_SELECT: &str = "SELECT g.id, g.client_id, c.name, g.user_id, g.scopes, g.resource, \
     g.redirect_uri, g.code_challenge, g.code_expires_at, g.code_used_at, g.created_at, g.last_used_at, \
     g.revoked_at FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id";

pub(crate) fn grant<R: Cells>(row: &R) -> Result<PulseGrant, R::Error> {
    let scopes = row.text(4)?;
    Ok(PulseGrant {
        id: row.text(0)?,
        client_id: row.text(1)?,
        client_name: row.text(2)?,
        user_id: row.text(3)?,
        scopes: PulseScopes::parse_space_separated(&scopes).map_err(|_| R::corrupt("scopes", &scopes))?,
        resource: resource::<R>(&row.text(5)?)?,
        redirect_uri: row.text(6)?,
        code_challenge: row.text(7)?,
        code_expires_at: row.time(8)?,
        code_used_at: row.opt_time(9)?,
        created_at: row.time(10)?,
        last_used_at: row.time(11)?,
        revoked_at: row.opt_time(12)?,
    })
}

/// `$1` token, `$2` grant: the issued token's grant and audience (the
/// grant's resource, `$3`).
pub(crate) const SET_TOKEN_GRANT: &str = "UPDATE personal_access_tokens SET grant_id = $2, audience = $3 WHERE id = $1";
pub(crate) const REVOKE_GRANT_TOKENS: &str =
    "UPDATE personal_access_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL";

pub(crate) const SITE_COLUMNS: &str = "s.id, s.team_id, s.name, s.url, s.cadence_seconds, s.paused, s.status, \
     s.consecutive_failures, s.last_checked_at, s.next_check_at, s.created_at, s.updated_at";

pub(crate) fn site<R: Cells>(row: &R) -> Result<Site, R::Error> {
    let status = row.text(6)?;
    Ok(Site {
        id: row.text(0)?,
        team_id: row.text(1)?,
        name: row.text(2)?,
        url: row.text(3)?,
        cadence_seconds: opt_count(row, 4, "cadence_seconds")?,
        paused: row.int(5)? != 0,
        status: SiteStatus::parse(&status).ok_or_else(|| R::corrupt("status", &status))?,
        consecutive_failures: count(row, 7, "consecutive_failures")?,
        last_checked_at: row.opt_time(8)?,
        next_check_at: row.opt_time(9)?,
        created_at: row.time(10)?,
        updated_at: row.time(11)?,
    })
}

pub(crate) const RUN_COLUMNS: &str = "r.id, r.site_id, r.team_id, r.trigger, r.status, r.queued_at, r.started_at, \
     r.finished_at, r.http_status, r.latency_ms, r.redirects, r.final_url, r.tls_expires_at, r.error";

pub(crate) fn run<R: Cells>(row: &R) -> Result<CheckRun, R::Error> {
    let (trigger, status) = (row.text(3)?, row.text(4)?);
    let http_status = match row.opt_int(8)? {
        Some(v) => Some(u16::try_from(v).map_err(|_| R::corrupt("http_status", &v.to_string()))?),
        None => None,
    };
    Ok(CheckRun {
        id: row.text(0)?,
        site_id: row.text(1)?,
        team_id: row.text(2)?,
        trigger: RunTrigger::parse(&trigger).ok_or_else(|| R::corrupt("trigger", &trigger))?,
        status: RunStatus::parse(&status).ok_or_else(|| R::corrupt("status", &status))?,
        queued_at: row.time(5)?,
        started_at: row.opt_time(6)?,
        finished_at: row.opt_time(7)?,
        http_status,
        latency_ms: opt_count(row, 9, "latency_ms")?,
        redirects: opt_count(row, 10, "redirects")?,
        final_url: row.opt_text(11)?,
        tls_expires_at: row.opt_time(12)?,
        error: row.opt_text(13)?,
    })
}

pub(crate) const ISSUE_COLUMNS: &str = "i.id, i.site_id, i.team_id, i.status, i.cause, i.opened_at, i.resolved_at, \
     i.first_run_id, i.last_run_id, i.escalated_at";

pub(crate) fn issue<R: Cells>(row: &R) -> Result<Issue, R::Error> {
    let status = row.text(3)?;
    Ok(Issue {
        id: row.text(0)?,
        site_id: row.text(1)?,
        team_id: row.text(2)?,
        status: IssueStatus::parse(&status).ok_or_else(|| R::corrupt("status", &status))?,
        cause: row.text(4)?,
        opened_at: row.time(5)?,
        resolved_at: row.opt_time(6)?,
        first_run_id: row.text(7)?,
        last_run_id: row.text(8)?,
        escalated_at: row.opt_time(9)?,
    })
}
