//! Check runs and issues on PostgreSQL, where many nodes schedule and
//! claim at once: each takes the due sites and waiting runs no other node
//! holds (`FOR UPDATE SKIP LOCKED`), so every run is claimed by one node,
//! and a run's result is recorded only by the node holding its claim.

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use sitegpt_access::id::new_prefixed_id;

use crate::postgres::sql::{Db, all, execute, expect_one, pg, query, query_opt};
use crate::pulse::rows::{self, ISSUE_COLUMNS, RUN_COLUMNS, SITE_COLUMNS, TEAM_COLUMNS};
use crate::pulse::{
    CheckRun, ClaimedRun, Finished, Issue, IssueChange, RunOutcome, RunStatus, RunTrigger, Site, after_run, cause,
    effective_cadence,
};
use crate::rows::{Cells, ms};
use crate::{StoreError, StoreResult};

pub(super) async fn load_run(c: &impl GenericClient, run_id: &str) -> StoreResult<Option<CheckRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM check_runs r WHERE r.id = $1");
    query_opt(c, &sql, &[&run_id]).await?.map(|r| rows::run(&r)).transpose()
}

pub(super) async fn load_issue(c: &impl GenericClient, issue_id: &str) -> StoreResult<Option<Issue>> {
    let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.id = $1");
    query_opt(c, &sql, &[&issue_id]).await?.map(|r| rows::issue(&r)).transpose()
}

async fn has_waiting_run(c: &impl GenericClient, site_id: &str) -> StoreResult<bool> {
    let row = query_opt(
        c,
        "SELECT count(*) FROM check_runs WHERE site_id = $1 AND status IN ('queued', 'running')",
        &[&site_id],
    )
    .await?;
    Ok(row.map_or(Ok(0), |r| r.int(0))? > 0)
}

async fn insert_run(
    c: &impl GenericClient,
    site_id: &str,
    team_id: &str,
    trigger: RunTrigger,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    let id = new_prefixed_id("run_");
    execute(
        c,
        "INSERT INTO check_runs (id, site_id, team_id, trigger, status, queued_at) VALUES ($1, $2, $3, $4, 'queued', $5)",
        &[&id, &site_id, &team_id, &trigger.as_str(), &ms(at)],
    )
    .await
    .map_err(pg)?;
    Ok(id)
}

pub(super) async fn queue(db: &Db, site_id: &str, at: DateTime<Utc>) -> StoreResult<CheckRun> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    // The site's row, locked: two requests cannot both find no run waiting.
    let team_id = query_opt(&tx, "SELECT team_id FROM sites WHERE id = $1 FOR UPDATE", &[&site_id])
        .await?
        .ok_or(StoreError::NotFound)?
        .text(0)?;
    if has_waiting_run(&tx, site_id).await? {
        return Err(StoreError::Conflict("a check of this site is already queued or running".into()));
    }
    let id = insert_run(&tx, site_id, &team_id, RunTrigger::Manual, at).await?;
    let run = load_run(&tx, &id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(pg)?;
    Ok(run)
}

pub(super) async fn runs_of_site(db: &Db, site_id: &str, limit: usize) -> StoreResult<Vec<CheckRun>> {
    let client = db.client().await?;
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM check_runs r WHERE r.site_id = $1 ORDER BY r.queued_at DESC, r.id DESC LIMIT $2"
    );
    all(query(&client, &sql, &[&site_id, &crate::rows::limit(limit)]).await?, rows::run)
}

pub(super) async fn delete(db: &Db, run_id: &str) -> StoreResult<()> {
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let run = query_opt(&tx, &format!("SELECT {RUN_COLUMNS} FROM check_runs r WHERE r.id = $1 FOR UPDATE"), &[&run_id])
        .await?
        .map(|r| rows::run(&r))
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    if run.trigger != RunTrigger::Manual {
        return Err(StoreError::Conflict("only manual check runs can be deleted".into()));
    }
    if run.status == RunStatus::Running {
        return Err(StoreError::Conflict("the check is running; delete it once it has finished".into()));
    }
    expect_one(execute(&tx, "DELETE FROM check_runs WHERE id = $1", &[&run_id]).await.map_err(pg)?)?;
    tx.commit().await.map_err(pg)
}

pub(super) async fn claim(
    db: &Db,
    node: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> StoreResult<Vec<ClaimedRun>> {
    let limit = crate::rows::limit(limit);
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let due = query(
        &tx,
        &format!(
            "SELECT {SITE_COLUMNS}, {TEAM_COLUMNS} FROM sites s JOIN teams tm ON tm.id = s.team_id \
             WHERE s.paused = 0 AND s.next_check_at <= $1 AND tm.subscription_active = 1 \
             ORDER BY s.next_check_at, s.id LIMIT $2 FOR UPDATE OF s SKIP LOCKED"
        ),
        &[&ms(now), &limit],
    )
    .await?;
    for row in &due {
        let (site, team) = (rows::site(row)?, rows::team_at(row, 12)?);
        if !has_waiting_run(&tx, &site.id).await? {
            insert_run(&tx, &site.id, &site.team_id, RunTrigger::Scheduled, now).await?;
        }
        let next = now + Duration::seconds(i64::from(effective_cadence(site.cadence_seconds, &team)));
        execute(&tx, "UPDATE sites SET next_check_at = $2 WHERE id = $1", &[&site.id, &ms(next)]).await.map_err(pg)?;
    }
    let claimed = query(
        &tx,
        "UPDATE check_runs SET status = 'running', claimed_by = $2, claim_until = $3, started_at = $1 \
         WHERE id IN (SELECT id FROM check_runs \
                      WHERE status = 'queued' OR (status = 'running' AND claim_until <= $1) \
                      ORDER BY queued_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING id",
        &[&ms(now), &node, &ms(now + lease), &limit],
    )
    .await?;
    let mut runs = Vec::with_capacity(claimed.len());
    for row in &claimed {
        let run = load_run(&tx, &row.text(0)?).await?.ok_or(StoreError::NotFound)?;
        let url = query_opt(&tx, "SELECT url FROM sites WHERE id = $1", &[&run.site_id])
            .await?
            .ok_or(StoreError::NotFound)?
            .text(0)?;
        runs.push(ClaimedRun { run, url });
    }
    runs.sort_by(|a, b| (a.run.queued_at, &a.run.id).cmp(&(b.run.queued_at, &b.run.id)));
    tx.commit().await.map_err(pg)?;
    Ok(runs)
}

pub(super) async fn finish(db: &Db, run_id: &str, node: &str, outcome: &RunOutcome) -> StoreResult<Option<Finished>> {
    let status = if outcome.up { RunStatus::Up } else { RunStatus::Down };
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let changed = execute(
        &tx,
        "UPDATE check_runs SET status = $3, finished_at = $4, http_status = $5, latency_ms = $6, redirects = $7, \
         final_url = $8, tls_expires_at = $9, error = $10, claim_until = NULL \
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
        &[
            &run_id,
            &node,
            &status.as_str(),
            &ms(outcome.finished_at),
            &outcome.http_status.map(i64::from),
            &outcome.latency_ms.map(i64::from),
            &outcome.redirects.map(i64::from),
            &outcome.final_url,
            &outcome.tls_expires_at.map(ms),
            &outcome.error,
        ],
    )
    .await
    .map_err(pg)?;
    if changed == 0 {
        return Ok(None);
    }
    let run = load_run(&tx, run_id).await?.ok_or(StoreError::NotFound)?;
    // The site's row, locked: runs of one site finishing together count in turn.
    let row = query_opt(
        &tx,
        "SELECT s.consecutive_failures, tm.failure_threshold FROM sites s JOIN teams tm ON tm.id = s.team_id \
         WHERE s.id = $1 FOR UPDATE OF s",
        &[&run.site_id],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    let (failures, threshold) = (row.int(0)?, row.int(1)?);
    let open = query_opt(&tx, "SELECT id FROM issues WHERE site_id = $1 AND status = 'open'", &[&run.site_id])
        .await?
        .map(|r| r.text(0))
        .transpose()?;
    let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    let (failures, change) = after_run(outcome.up, count(failures), count(threshold), open);
    let site_status = if outcome.up { "up" } else { "down" };
    let at = ms(outcome.finished_at);
    execute(
        &tx,
        "UPDATE sites SET status = $2, consecutive_failures = $3, last_checked_at = $4 WHERE id = $1",
        &[&run.site_id, &site_status, &i64::from(failures), &at],
    )
    .await
    .map_err(pg)?;
    let (mut opened, mut resolved) = (None, None);
    match change {
        IssueChange::None => {}
        IssueChange::Open => {
            let id = new_prefixed_id("iss_");
            execute(
                &tx,
                "INSERT INTO issues (id, site_id, team_id, status, cause, opened_at, first_run_id, last_run_id) \
                 VALUES ($1, $2, $3, 'open', $4, $5, $6, $6)",
                &[&id, &run.site_id, &run.team_id, &cause(outcome), &at, &run.id],
            )
            .await
            .map_err(pg)?;
            opened = load_issue(&tx, &id).await?;
        }
        IssueChange::Extend(id) => {
            execute(&tx, "UPDATE issues SET last_run_id = $2 WHERE id = $1", &[&id, &run.id]).await.map_err(pg)?;
        }
        IssueChange::Resolve(id) => {
            execute(
                &tx,
                "UPDATE issues SET status = 'resolved', resolved_at = $2, last_run_id = $3 WHERE id = $1",
                &[&id, &at, &run.id],
            )
            .await
            .map_err(pg)?;
            resolved = load_issue(&tx, &id).await?;
        }
    }
    let site = load_site(&tx, &run.site_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(pg)?;
    Ok(Some(Finished { run, site, opened, resolved }))
}

pub(super) async fn escalate(db: &Db, now: DateTime<Utc>) -> StoreResult<Vec<Issue>> {
    let client = db.client().await?;
    let escalated = query(
        &client,
        &format!(
            "UPDATE issues i SET escalated_at = $1 FROM teams tm \
             WHERE tm.id = i.team_id AND i.status = 'open' AND i.escalated_at IS NULL \
             AND tm.escalation_minutes IS NOT NULL AND i.opened_at + tm.escalation_minutes * 60000 <= $1 \
             RETURNING {ISSUE_COLUMNS}"
        ),
        &[&ms(now)],
    )
    .await?;
    let mut issues = all(escalated, rows::issue)?;
    issues.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
    Ok(issues)
}

pub(super) async fn issues_of_team(db: &Db, team_id: &str, open_only: bool) -> StoreResult<Vec<Issue>> {
    let client = db.client().await?;
    let sql = format!(
        "SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.team_id = $1 AND (NOT $2 OR i.status = 'open') \
         ORDER BY i.opened_at DESC, i.id DESC"
    );
    all(query(&client, &sql, &[&team_id, &open_only]).await?, rows::issue)
}

pub(super) async fn load_site(c: &impl GenericClient, site_id: &str) -> StoreResult<Option<Site>> {
    let sql = format!("SELECT {SITE_COLUMNS} FROM sites s WHERE s.id = $1");
    query_opt(c, &sql, &[&site_id]).await?.map(|r| rows::site(&r)).transpose()
}
