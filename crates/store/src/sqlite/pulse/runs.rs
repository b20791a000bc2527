//! Check runs and issues on the embedded engine: every statement here runs
//! on the one writer (or a reader), so scheduling and claiming are serial
//! by construction.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sitegpt_access::id::new_prefixed_id;

use crate::pulse::rows::{self, ISSUE_COLUMNS, RUN_COLUMNS, SITE_COLUMNS, TEAM_COLUMNS};
use crate::pulse::{
    CheckRun, ClaimedRun, Finished, Issue, IssueChange, RunOutcome, RunStatus, RunTrigger, Site, after_run, cause,
    effective_cadence,
};
use crate::rows::ms;
use crate::sqlite::pool::backend;
use crate::sqlite::sql::expect_one;
use crate::{StoreError, StoreResult};

/// Runs waiting or running keep a site from getting another.
const WAITING: &str = "status IN ('queued', 'running')";

pub(super) fn load_run(conn: &Connection, run_id: &str) -> StoreResult<Option<CheckRun>> {
    conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM check_runs r WHERE r.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([run_id], |r| rows::run(r)).optional())
        .map_err(backend)
}

pub(super) fn load_issue(conn: &Connection, issue_id: &str) -> StoreResult<Option<Issue>> {
    conn.prepare_cached(&format!("SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([issue_id], |r| rows::issue(r)).optional())
        .map_err(backend)
}

fn has_waiting_run(conn: &Connection, site_id: &str) -> StoreResult<bool> {
    conn.prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM check_runs WHERE site_id = ?1 AND {WAITING})"))
        .and_then(|mut stmt| stmt.query_row([site_id], |r| r.get(0)))
        .map_err(backend)
}

fn insert_run(
    conn: &Connection,
    site_id: &str,
    team_id: &str,
    trigger: RunTrigger,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    let id = new_prefixed_id("run_");
    conn.execute(
        "INSERT INTO check_runs (id, site_id, team_id, trigger, status, queued_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
        params![id, site_id, team_id, trigger.as_str(), ms(at)],
    )
    .map_err(backend)?;
    Ok(id)
}

pub(super) fn queue(conn: &Connection, site_id: &str, at: DateTime<Utc>) -> StoreResult<CheckRun> {
    let team_id: String = conn
        .query_row("SELECT team_id FROM sites WHERE id = ?1", [site_id], |r| r.get(0))
        .optional()
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    if has_waiting_run(conn, site_id)? {
        return Err(StoreError::Conflict("a check of this site is already queued or running".into()));
    }
    let id = insert_run(conn, site_id, &team_id, RunTrigger::Manual, at)?;
    load_run(conn, &id)?.ok_or(StoreError::NotFound)
}

pub(super) fn runs_of_site(conn: &Connection, site_id: &str, limit: usize) -> StoreResult<Vec<CheckRun>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM check_runs r WHERE r.site_id = ?1 ORDER BY r.queued_at DESC, r.id DESC LIMIT ?2"
        ))
        .map_err(backend)?;
    let rows = stmt.query_map(params![site_id, crate::rows::limit(limit)], |r| rows::run(r)).map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

pub(super) fn delete(conn: &Connection, run_id: &str) -> StoreResult<()> {
    let run = load_run(conn, run_id)?.ok_or(StoreError::NotFound)?;
    if run.trigger != RunTrigger::Manual {
        return Err(StoreError::Conflict("only manual check runs can be deleted".into()));
    }
    if run.status == RunStatus::Running {
        return Err(StoreError::Conflict("the check is running; delete it once it has finished".into()));
    }
    expect_one(conn.execute("DELETE FROM check_runs WHERE id = ?1", [run_id]).map_err(backend)?)
}

pub(super) fn claim(
    conn: &Connection,
    node: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> StoreResult<Vec<ClaimedRun>> {
    let limit = crate::rows::limit(limit);
    // Sites due, of teams with an active plan.
    let due = {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SITE_COLUMNS}, {TEAM_COLUMNS} FROM sites s JOIN teams tm ON tm.id = s.team_id \
                 WHERE s.paused = 0 AND s.next_check_at <= ?1 AND tm.subscription_active = 1 \
                 ORDER BY s.next_check_at, s.id LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![ms(now), limit], |r| Ok((rows::site(r)?, rows::team_at(r, 12)?)))
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
    };
    for (site, team) in due {
        if !has_waiting_run(conn, &site.id)? {
            insert_run(conn, &site.id, &site.team_id, RunTrigger::Scheduled, now)?;
        }
        let next = now + Duration::seconds(i64::from(effective_cadence(site.cadence_seconds, &team)));
        conn.execute("UPDATE sites SET next_check_at = ?2 WHERE id = ?1", params![site.id, ms(next)])
            .map_err(backend)?;
    }
    let ids = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT id FROM check_runs WHERE status = 'queued' OR (status = 'running' AND claim_until <= ?1) \
                 ORDER BY queued_at, id LIMIT ?2",
            )
            .map_err(backend)?;
        let rows = stmt.query_map(params![ms(now), limit], |r| r.get::<_, String>(0)).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
    };
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        conn.execute(
            "UPDATE check_runs SET status = 'running', claimed_by = ?2, claim_until = ?3, started_at = ?4 WHERE id = ?1",
            params![id, node, ms(now + lease), ms(now)],
        )
        .map_err(backend)?;
        let run = load_run(conn, &id)?.ok_or(StoreError::NotFound)?;
        let url: String =
            conn.query_row("SELECT url FROM sites WHERE id = ?1", [&run.site_id], |r| r.get(0)).map_err(backend)?;
        claimed.push(ClaimedRun { run, url });
    }
    Ok(claimed)
}

pub(super) fn finish(
    conn: &Connection,
    run_id: &str,
    node: &str,
    outcome: &RunOutcome,
) -> StoreResult<Option<Finished>> {
    let status = if outcome.up { RunStatus::Up } else { RunStatus::Down };
    let changed = conn
        .execute(
            "UPDATE check_runs SET status = ?3, finished_at = ?4, http_status = ?5, latency_ms = ?6, redirects = ?7, \
             final_url = ?8, tls_expires_at = ?9, error = ?10, claim_until = NULL \
             WHERE id = ?1 AND claimed_by = ?2 AND status = 'running'",
            params![
                run_id,
                node,
                status.as_str(),
                ms(outcome.finished_at),
                outcome.http_status,
                outcome.latency_ms,
                outcome.redirects,
                outcome.final_url,
                outcome.tls_expires_at.map(ms),
                outcome.error
            ],
        )
        .map_err(backend)?;
    if changed == 0 {
        return Ok(None);
    }
    let run = load_run(conn, run_id)?.ok_or(StoreError::NotFound)?;
    let (failures, threshold): (u32, u32) = conn
        .query_row(
            "SELECT s.consecutive_failures, tm.failure_threshold FROM sites s JOIN teams tm ON tm.id = s.team_id \
             WHERE s.id = ?1",
            [&run.site_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(backend)?;
    let open: Option<String> = conn
        .query_row("SELECT id FROM issues WHERE site_id = ?1 AND status = 'open'", [&run.site_id], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let (failures, change) = after_run(outcome.up, failures, threshold, open);
    let site_status = if outcome.up { "up" } else { "down" };
    conn.execute(
        "UPDATE sites SET status = ?2, consecutive_failures = ?3, last_checked_at = ?4 WHERE id = ?1",
        params![run.site_id, site_status, failures, ms(outcome.finished_at)],
    )
    .map_err(backend)?;
    let at = ms(outcome.finished_at);
    let (mut opened, mut resolved) = (None, None);
    match change {
        IssueChange::None => {}
        IssueChange::Open => {
            let id = new_prefixed_id("iss_");
            conn.execute(
                "INSERT INTO issues (id, site_id, team_id, status, cause, opened_at, first_run_id, last_run_id) \
                 VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, ?6)",
                params![id, run.site_id, run.team_id, cause(outcome), at, run.id],
            )
            .map_err(backend)?;
            opened = load_issue(conn, &id)?;
        }
        IssueChange::Extend(id) => {
            conn.execute("UPDATE issues SET last_run_id = ?2 WHERE id = ?1", params![id, run.id]).map_err(backend)?;
        }
        IssueChange::Resolve(id) => {
            conn.execute(
                "UPDATE issues SET status = 'resolved', resolved_at = ?2, last_run_id = ?3 WHERE id = ?1",
                params![id, at, run.id],
            )
            .map_err(backend)?;
            resolved = load_issue(conn, &id)?;
        }
    }
    let site = load_site(conn, &run.site_id)?.ok_or(StoreError::NotFound)?;
    Ok(Some(Finished { run, site, opened, resolved }))
}

pub(super) fn escalate(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<Issue>> {
    let ids = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT i.id FROM issues i JOIN teams tm ON tm.id = i.team_id \
                 WHERE i.status = 'open' AND i.escalated_at IS NULL AND tm.escalation_minutes IS NOT NULL \
                 AND i.opened_at + tm.escalation_minutes * 60000 <= ?1 ORDER BY i.opened_at, i.id",
            )
            .map_err(backend)?;
        let rows = stmt.query_map([ms(now)], |r| r.get::<_, String>(0)).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
    };
    let mut escalated = Vec::with_capacity(ids.len());
    for id in ids {
        conn.execute("UPDATE issues SET escalated_at = ?2 WHERE id = ?1", params![id, ms(now)]).map_err(backend)?;
        escalated.extend(load_issue(conn, &id)?);
    }
    Ok(escalated)
}

pub(super) fn issues_of_team(conn: &Connection, team_id: &str, open_only: bool) -> StoreResult<Vec<Issue>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.team_id = ?1 AND (NOT ?2 OR i.status = 'open') \
             ORDER BY i.opened_at DESC, i.id DESC"
        ))
        .map_err(backend)?;
    let rows = stmt.query_map(params![team_id, open_only], |r| rows::issue(r)).map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

pub(super) fn load_site(conn: &Connection, site_id: &str) -> StoreResult<Option<Site>> {
    conn.prepare_cached(&format!("SELECT {SITE_COLUMNS} FROM sites s WHERE s.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([site_id], |r| rows::site(r)).optional())
        .map_err(backend)
}
