//! SitePulse's store on the embedded engine: its own SQLite file
//! (`sitepulse.db`) and migrations, on the same writer (group commit, one
//! sync per batch), readers, auth epoch and one-server lock as SiteGPT's.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sitegpt_access::TokenHash;
use sitegpt_access::id::new_prefixed_id;
use sitegpt_access::sitepulse::{Permissions, TeamRole};

mod oauth;
mod runs;
mod tokens;

use self::tokens::{insert_token, load_token};

use super::epoch::EpochWatch;
use super::pool::{Pool, Synchronous, backend};
use super::serving::ServeLock;
use super::sql::{bump_epoch, constraint, expect_one};
use crate::pulse::rows::{self, MEMBER_COLUMNS, SITE_COLUMNS, TEAM_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS};
use crate::pulse::{
    CheckRun, ClaimedRun, Finished, Issue, MonitoringDefaults, NewPulseGrant, NewPulseToken, NewPulseUser, NewSite,
    NewTeam, PulseGrant, PulseGrantIssue, PulseStore, PulseTokenAuth, PulseTokenRecord, PulseUser, RunOutcome, Site,
    SitePatch, Team, TeamMember, email_key,
};
use crate::rows::ms;
use crate::{OAuthClient, RedeemOutcome, RefreshOutcome, StoreError, StoreResult};

/// SitePulse's migrations in order; the version after entry `i` is `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_sessions.sql"),
    include_str!("0003_escalation.sql"),
    include_str!("0004_oauth.sql"),
];

/// SitePulse's store on a SQLite file.
#[derive(Debug)]
pub struct SqlitePulseStore {
    pool: Arc<Pool>,
    epoch: EpochWatch,
    _lock: Option<ServeLock>,
}

impl SqlitePulseStore {
    /// Opens (creating if needed) the file and runs migrations, beside a
    /// server if one serves it (admin commands).
    pub fn open(path: &Path, synchronous: Synchronous) -> StoreResult<SqlitePulseStore> {
        SqlitePulseStore::open_locked(path, synchronous, None)
    }

    /// Opens the file for the one server that serves it.
    pub fn open_serving(path: &Path, synchronous: Synchronous) -> StoreResult<SqlitePulseStore> {
        let lock = ServeLock::acquire_for(path, "sitepulse-server")?;
        SqlitePulseStore::open_locked(path, synchronous, Some(lock))
    }

    fn open_locked(path: &Path, synchronous: Synchronous, lock: Option<ServeLock>) -> StoreResult<SqlitePulseStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        let pool = Pool::open(path, synchronous, |conn| super::migrations::apply(conn, MIGRATIONS).map(drop))?;
        let epoch = EpochWatch::open(path, pool.commit_flag())?;
        Ok(SqlitePulseStore { pool: Arc::new(pool), epoch, _lock: lock })
    }
}

fn load_team(conn: &Connection, team_id: &str) -> StoreResult<Option<Team>> {
    conn.prepare_cached(&format!("SELECT {TEAM_COLUMNS} FROM teams tm WHERE tm.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([team_id], |r| rows::team_at(r, 0)).optional())
        .map_err(backend)
}

fn load_member(conn: &Connection, team_id: &str, user_id: &str) -> StoreResult<Option<TeamMember>> {
    conn.prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM team_members m WHERE m.team_id = ?1 AND m.user_id = ?2"))
        .and_then(|mut stmt| stmt.query_row([team_id, user_id], |r| rows::member_at(r, 0)).optional())
        .map_err(backend)
}

fn load_user(conn: &Connection, email: &str) -> StoreResult<Option<(PulseUser, String)>> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1"))
        .and_then(|mut stmt| stmt.query_row([email], |r| Ok((rows::user(r)?, r.get(5)?))).optional())
        .map_err(backend)
}

#[async_trait]
impl PulseStore for SqlitePulseStore {
    fn auth_epoch(&self) -> StoreResult<u64> {
        self.epoch.current()
    }

    async fn create_user(&self, new: NewPulseUser) -> StoreResult<PulseUser> {
        let user = PulseUser {
            id: new_prefixed_id("usr_"),
            email: email_key(&new.email),
            name: new.name,
            email_verified_at: new.verified.then_some(new.created_at),
            created_at: new.created_at,
        };
        let row = user.clone();
        self.pool
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        row.id,
                        row.email,
                        row.name,
                        new.password_hash,
                        row.email_verified_at.map(ms),
                        ms(row.created_at)
                    ],
                )
                .map_err(constraint("a user with this e-mail address exists"))?;
                Ok(())
            })
            .await?;
        Ok(user)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<PulseUser>> {
        Ok(self.password_hash(email).await?.map(|(user, _)| user))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let count: i64 = self
            .pool
            .read_by_key(|conn| conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend))
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn password_hash(&self, email: &str) -> StoreResult<Option<(PulseUser, String)>> {
        let email = email_key(email);
        self.pool.read_by_key(|conn| load_user(conn, &email)).await
    }

    async fn verify_email(&self, user_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE users SET email_verified_at = coalesce(email_verified_at, ?2) WHERE id = ?1",
                        params![user_id, ms(at)],
                    )
                    .map_err(backend)?;
                expect_one(changed)?;
                bump_epoch(conn)
            })
            .await
    }

    async fn create_session(
        &self,
        id_hash: [u8; 32],
        user_id: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.pool
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&id_hash[..], user_id, ms(at), ms(expires_at)],
                )
                .map_err(constraint("a session with this id exists"))?;
                Ok(())
            })
            .await
    }

    async fn session_user(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<PulseUser>> {
        self.pool
            .read_by_key(|conn| {
                conn.prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.id_hash = ?1 AND s.expires_at > ?2"
                ))
                .and_then(|mut stmt| stmt.query_row(params![&id_hash[..], ms(now)], |r| rows::user(r)).optional())
                .map_err(backend)
            })
            .await
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        self.pool
            .write(move |conn| {
                conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash[..]]).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.pool
            .write(move |conn| {
                let deleted =
                    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ms(now)]).map_err(backend)?;
                Ok(u64::try_from(deleted).unwrap_or_default())
            })
            .await
    }

    async fn create_team(&self, new: NewTeam, owner_id: &str) -> StoreResult<Team> {
        let team = Team {
            id: new_prefixed_id("team_"),
            name: new.name,
            limits: new.limits,
            subscription_active: new.subscription_active,
            defaults: new.defaults,
            created_at: new.created_at,
        };
        let (row, owner_id) = (team.clone(), owner_id.to_owned());
        self.pool
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO teams (id, name, plan, max_sites, min_cadence_seconds, subscription_active, \
                     cadence_seconds, failure_threshold, escalation_minutes, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        row.id,
                        row.name,
                        row.limits.plan,
                        row.limits.max_sites,
                        row.limits.min_cadence_seconds,
                        row.subscription_active,
                        row.defaults.cadence_seconds,
                        row.defaults.failure_threshold,
                        row.defaults.escalation_minutes,
                        ms(row.created_at)
                    ],
                )
                .map_err(backend)?;
                insert_member(conn, &row.id, &owner_id, TeamRole::Owner, Permissions::all(), row.created_at)
            })
            .await?;
        Ok(team)
    }

    async fn team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        let team_id = team_id.to_owned();
        self.pool.read_by_key(|conn| load_team(conn, &team_id)).await
    }

    async fn teams_of(&self, user_id: &str) -> StoreResult<Vec<(Team, TeamMember)>> {
        let user_id = user_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {TEAM_COLUMNS}, {MEMBER_COLUMNS} FROM team_members m \
                         JOIN teams tm ON tm.id = m.team_id WHERE m.user_id = ?1 ORDER BY m.created_at, m.team_id"
                    ))
                    .map_err(backend)?;
                let rows = stmt
                    .query_map([&user_id], |r| Ok((rows::team_at(r, 0)?, rows::member_at(r, 10)?)))
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn member(&self, team_id: &str, user_id: &str) -> StoreResult<Option<TeamMember>> {
        let (team_id, user_id) = (team_id.to_owned(), user_id.to_owned());
        self.pool.read_by_key(|conn| load_member(conn, &team_id, &user_id)).await
    }

    async fn add_member(
        &self,
        team_id: &str,
        user_id: &str,
        role: TeamRole,
        permissions: Option<Permissions>,
        at: DateTime<Utc>,
    ) -> StoreResult<TeamMember> {
        let member = TeamMember {
            team_id: team_id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            permissions: permissions.unwrap_or_else(|| role.default_permissions()),
            created_at: at,
        };
        let row = member.clone();
        self.pool
            .write(move |conn| insert_member(conn, &row.team_id, &row.user_id, row.role, row.permissions, at))
            .await?;
        Ok(member)
    }

    async fn set_member_permissions(&self, team_id: &str, user_id: &str, permissions: Permissions) -> StoreResult<()> {
        let (team_id, user_id) = (team_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE team_members SET permissions = ?3 WHERE team_id = ?1 AND user_id = ?2",
                        params![team_id, user_id, permissions.to_stored()],
                    )
                    .map_err(backend)?;
                expect_one(changed)?;
                bump_epoch(conn)
            })
            .await
    }

    async fn remove_member(&self, team_id: &str, user_id: &str) -> StoreResult<()> {
        let (team_id, user_id) = (team_id.to_owned(), user_id.to_owned());
        self.pool
            .write(move |conn| {
                let member = load_member(conn, &team_id, &user_id)?.ok_or(StoreError::NotFound)?;
                if member.role == TeamRole::Owner {
                    let owners: i64 = conn
                        .query_row(
                            "SELECT count(*) FROM team_members WHERE team_id = ?1 AND role = 'owner'",
                            [&team_id],
                            |r| r.get(0),
                        )
                        .map_err(backend)?;
                    if owners <= 1 {
                        return Err(StoreError::Conflict("a team keeps at least one owner".into()));
                    }
                }
                conn.execute("DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2", [&team_id, &user_id])
                    .map_err(backend)?;
                bump_epoch(conn)
            })
            .await
    }

    async fn set_subscription(&self, team_id: &str, active: bool) -> StoreResult<()> {
        let team_id = team_id.to_owned();
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute("UPDATE teams SET subscription_active = ?2 WHERE id = ?1", params![team_id, active])
                    .map_err(backend)?;
                expect_one(changed)?;
                bump_epoch(conn)
            })
            .await
    }

    async fn set_defaults(&self, team_id: &str, defaults: MonitoringDefaults) -> StoreResult<Team> {
        let team_id = team_id.to_owned();
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE teams SET cadence_seconds = ?2, failure_threshold = ?3, escalation_minutes = ?4 \
                         WHERE id = ?1",
                        params![
                            team_id,
                            defaults.cadence_seconds,
                            defaults.failure_threshold,
                            defaults.escalation_minutes
                        ],
                    )
                    .map_err(backend)?;
                expect_one(changed)?;
                load_team(conn, &team_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn create_token(&self, new: NewPulseToken) -> StoreResult<PulseTokenRecord> {
        self.pool.write(move |conn| insert_token(conn, &new)).await
    }

    async fn tokens_of(&self, user_id: &str) -> StoreResult<Vec<PulseTokenRecord>> {
        let user_id = user_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {TOKEN_COLUMNS} FROM personal_access_tokens p WHERE p.user_id = ?1 \
                         AND p.grant_id IS NULL \
                         ORDER BY p.created_at DESC, p.id DESC"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([&user_id], |r| rows::token(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn revoke_token(&self, user_id: &str, token_id: &str, at: DateTime<Utc>) -> StoreResult<PulseTokenRecord> {
        let (user_id, token_id) = (user_id.to_owned(), token_id.to_owned());
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE personal_access_tokens SET revoked_at = coalesce(revoked_at, ?3) \
                         WHERE id = ?1 AND user_id = ?2",
                        params![token_id, user_id, ms(at)],
                    )
                    .map_err(backend)?;
                expect_one(changed)?;
                bump_epoch(conn)?;
                load_token(conn, &token_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<PulseTokenAuth>> {
        self.pool
            .read_by_key(|conn| {
                conn.prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS}, u.email_verified_at IS NOT NULL FROM personal_access_tokens p \
                     JOIN users u ON u.id = p.user_id WHERE p.secret_hash = ?1"
                ))
                .and_then(|mut stmt| {
                    stmt.query_row([&hash.as_bytes()[..]], |r| {
                        Ok(PulseTokenAuth { token: rows::token(r)?, owner_email_verified: r.get(rows::TOKEN_WIDTH)? })
                    })
                    .optional()
                })
                .map_err(backend)
            })
            .await
    }

    async fn touch_token(&self, token_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let token_id = token_id.to_owned();
        self.pool
            .write(move |conn| {
                conn.execute(
                    "UPDATE personal_access_tokens SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1",
                    params![token_id, ms(at)],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn save_client(&self, client: OAuthClient) -> StoreResult<()> {
        crate::sqlite::oauth::save_client(&self.pool, client).await
    }

    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        crate::sqlite::oauth::oauth_client(&self.pool, client_id).await
    }

    async fn create_grant(&self, grant: NewPulseGrant) -> StoreResult<String> {
        oauth::create_grant(&self.pool, grant).await
    }

    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
        oauth::grant_by_code(&self.pool, code_hash).await
    }

    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
        oauth::grant_by_refresh(&self.pool, refresh_hash).await
    }

    async fn redeem_code(
        &self,
        code_hash: [u8; 32],
        issue: PulseGrantIssue,
    ) -> StoreResult<RedeemOutcome<PulseTokenRecord>> {
        oauth::redeem_code(&self.pool, code_hash, issue).await
    }

    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: PulseGrantIssue,
        grace: Duration,
        idle: Duration,
    ) -> StoreResult<RefreshOutcome<PulseTokenRecord>> {
        oauth::refresh_grant(&self.pool, refresh_hash, issue, grace, idle).await
    }

    async fn grants_of(&self, user_id: &str) -> StoreResult<Vec<PulseGrant>> {
        oauth::grants_of(&self.pool, user_id).await
    }

    async fn revoke_grant(&self, user_id: &str, grant_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        oauth::revoke_grant(&self.pool, user_id, grant_id, at).await
    }

    async fn create_site(&self, new: NewSite) -> StoreResult<Site> {
        let id = new_prefixed_id("site_");
        self.pool
            .write(move |conn| {
                let team = load_team(conn, &new.team_id)?.ok_or(StoreError::NotFound)?;
                let sites: i64 = conn
                    .query_row("SELECT count(*) FROM sites WHERE team_id = ?1", [&new.team_id], |r| r.get(0))
                    .map_err(backend)?;
                if sites >= i64::from(team.limits.max_sites) {
                    return Err(StoreError::Conflict(format!(
                        "the team's plan allows {} sites; delete one or change the plan",
                        team.limits.max_sites
                    )));
                }
                let at = ms(new.created_at);
                conn.execute(
                    "INSERT INTO sites (id, team_id, name, url, cadence_seconds, next_check_at, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
                    params![id, new.team_id, new.name, new.url, new.cadence_seconds, at],
                )
                .map_err(constraint("a site with this id exists"))?;
                runs::load_site(conn, &id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn site(&self, site_id: &str) -> StoreResult<Option<Site>> {
        let site_id = site_id.to_owned();
        self.pool.read_by_key(|conn| runs::load_site(conn, &site_id)).await
    }

    async fn sites_of(&self, team_id: &str) -> StoreResult<Vec<Site>> {
        let team_id = team_id.to_owned();
        self.pool
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {SITE_COLUMNS} FROM sites s WHERE s.team_id = ?1 ORDER BY s.created_at, s.id"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([&team_id], |r| rows::site(r)).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
            })
            .await
    }

    async fn update_site(&self, site_id: &str, patch: SitePatch, at: DateTime<Utc>) -> StoreResult<Site> {
        let site_id = site_id.to_owned();
        self.pool
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE sites SET name = coalesce(?2, name), url = coalesce(?3, url), \
                         cadence_seconds = CASE WHEN ?4 THEN ?5 ELSE cadence_seconds END, \
                         paused = coalesce(?6, paused), updated_at = ?7 WHERE id = ?1",
                        params![
                            site_id,
                            patch.name,
                            patch.url,
                            patch.cadence_seconds.is_some(),
                            patch.cadence_seconds.flatten(),
                            patch.paused,
                            ms(at)
                        ],
                    )
                    .map_err(backend)?;
                expect_one(changed)?;
                runs::load_site(conn, &site_id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_site(&self, site_id: &str) -> StoreResult<()> {
        let site_id = site_id.to_owned();
        self.pool
            .write(move |conn| {
                expect_one(conn.execute("DELETE FROM sites WHERE id = ?1", [&site_id]).map_err(backend)?)
            })
            .await
    }

    async fn queue_run(&self, site_id: &str, at: DateTime<Utc>) -> StoreResult<CheckRun> {
        let site_id = site_id.to_owned();
        self.pool.write(move |conn| runs::queue(conn, &site_id, at)).await
    }

    async fn check_run(&self, run_id: &str) -> StoreResult<Option<CheckRun>> {
        let run_id = run_id.to_owned();
        self.pool.read_by_key(|conn| runs::load_run(conn, &run_id)).await
    }

    async fn runs_of_site(&self, site_id: &str, limit: usize) -> StoreResult<Vec<CheckRun>> {
        let site_id = site_id.to_owned();
        self.pool.read(move |conn| runs::runs_of_site(conn, &site_id, limit)).await
    }

    async fn delete_run(&self, run_id: &str) -> StoreResult<()> {
        let run_id = run_id.to_owned();
        self.pool.write(move |conn| runs::delete(conn, &run_id)).await
    }

    async fn claim_runs(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedRun>> {
        let node = node.to_owned();
        self.pool.write(move |conn| runs::claim(conn, &node, now, lease, limit)).await
    }

    async fn finish_run(&self, run_id: &str, node: &str, outcome: RunOutcome) -> StoreResult<Option<Finished>> {
        let (run_id, node) = (run_id.to_owned(), node.to_owned());
        self.pool.write(move |conn| runs::finish(conn, &run_id, &node, &outcome)).await
    }

    async fn escalate_issues(&self, now: DateTime<Utc>) -> StoreResult<Vec<Issue>> {
        self.pool.write(move |conn| runs::escalate(conn, now)).await
    }

    async fn issues_of_team(&self, team_id: &str, open_only: bool) -> StoreResult<Vec<Issue>> {
        let team_id = team_id.to_owned();
        self.pool.read(move |conn| runs::issues_of_team(conn, &team_id, open_only)).await
    }

    async fn issue(&self, issue_id: &str) -> StoreResult<Option<Issue>> {
        let issue_id = issue_id.to_owned();
        self.pool.read_by_key(|conn| runs::load_issue(conn, &issue_id)).await
    }
}

fn insert_member(
    conn: &Connection,
    team_id: &str,
    user_id: &str,
    role: TeamRole,
    permissions: Permissions,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO team_members (team_id, user_id, role, permissions, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![team_id, user_id, role.as_str(), permissions.to_stored(), ms(at)],
    )
    .map_err(constraint("already a member of the team"))?;
    bump_epoch(conn)
}
