//! SitePulse's store on PostgreSQL, for many nodes on one database of its
//! own: its migrations (recorded in `sitepulse_migrations`), on the same
//! pool, statement helpers and `NOTIFY`-driven auth epoch as SiteGPT's.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use sitegpt_access::TokenHash;
use sitegpt_access::id::new_prefixed_id;
use sitegpt_access::sitepulse::{Permissions, TeamRole};

mod oauth;
mod runs;
mod tokens;

use self::tokens::{insert_token, load_token};

use super::listen::Listener;
use super::migrations;
use super::sql::{Db, all, constraint, execute, expect_one, pg, query, query_opt};
use crate::pulse::rows::{self, MEMBER_COLUMNS, SITE_COLUMNS, TEAM_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS};
use crate::pulse::{
    CheckRun, ClaimedRun, Finished, Issue, MonitoringDefaults, NewPulseGrant, NewPulseToken, NewPulseUser, NewSite,
    NewTeam, PulseGrant, PulseGrantIssue, PulseStore, PulseTokenAuth, PulseTokenRecord, PulseUser, RunOutcome, Site,
    SitePatch, Team, TeamMember, email_key,
};
use crate::rows::{Cells, ms};
use crate::{OAuthClient, RedeemOutcome, RefreshOutcome, StoreError, StoreResult};

/// SitePulse's migrations in order; entry `i` is version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_sessions.sql"),
    include_str!("0003_escalation.sql"),
    include_str!("0004_oauth.sql"),
];

/// Names SitePulse's migration lock (SiteGPT's is another).
const LOCK_KEY: i64 = 0x5350_4c53_4d49_4752;

/// SitePulse's store on PostgreSQL.
#[derive(Debug)]
pub struct PostgresPulseStore {
    db: Db,
    _listener: Listener,
}

impl PostgresPulseStore {
    /// Connects, runs SitePulse's migrations and starts listening for
    /// authorization changes. Inside a tokio runtime.
    pub async fn connect(url: &str) -> StoreResult<PostgresPulseStore> {
        let product = migrations::Product { table: "sitepulse_migrations", list: MIGRATIONS, lock_key: LOCK_KEY };
        let (db, listener) = super::connect_db(url, product).await?;
        Ok(PostgresPulseStore { db, _listener: listener })
    }

    /// Whether the notification connection is up.
    pub fn listening(&self) -> bool {
        self.db.epoch.listening()
    }
}

/// A count or a number of seconds as a parameter.
fn n(v: u32) -> i64 {
    i64::from(v)
}

async fn load_team(c: &impl GenericClient, team_id: &str) -> StoreResult<Option<Team>> {
    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams tm WHERE tm.id = $1");
    query_opt(c, &sql, &[&team_id]).await?.map(|r| rows::team_at(&r, 0)).transpose()
}

async fn load_member(c: &impl GenericClient, team_id: &str, user_id: &str) -> StoreResult<Option<TeamMember>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM team_members m WHERE m.team_id = $1 AND m.user_id = $2");
    query_opt(c, &sql, &[&team_id, &user_id]).await?.map(|r| rows::member_at(&r, 0)).transpose()
}

async fn insert_member(
    c: &impl GenericClient,
    team_id: &str,
    user_id: &str,
    role: TeamRole,
    permissions: Permissions,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO team_members (team_id, user_id, role, permissions, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&team_id, &user_id, &role.as_str(), &permissions.to_stored(), &ms(at)],
    )
    .await
    .map_err(constraint("already a member of the team"))
    .map(drop)
}

#[async_trait]
impl PulseStore for PostgresPulseStore {
    fn auth_epoch(&self) -> StoreResult<u64> {
        Ok(self.db.epoch.current())
    }

    async fn create_user(&self, new: NewPulseUser) -> StoreResult<PulseUser> {
        let user = PulseUser {
            id: new_prefixed_id("usr_"),
            email: email_key(&new.email),
            name: new.name,
            email_verified_at: new.verified.then_some(new.created_at),
            created_at: new.created_at,
        };
        let client = self.db.client().await?;
        execute(
            &client,
            "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &user.id,
                &user.email,
                &user.name,
                &new.password_hash,
                &user.email_verified_at.map(ms),
                &ms(user.created_at),
            ],
        )
        .await
        .map_err(constraint("a user with this e-mail address exists"))?;
        Ok(user)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<PulseUser>> {
        Ok(self.password_hash(email).await?.map(|(user, _)| user))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let client = self.db.client().await?;
        let count = query_opt(&client, "SELECT count(*) FROM users", &[]).await?.map_or(Ok(0), |r| r.int(0))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn password_hash(&self, email: &str) -> StoreResult<Option<(PulseUser, String)>> {
        let client = self.db.client().await?;
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1");
        query_opt(&client, &sql, &[&email_key(email)]).await?.map(|r| Ok((rows::user(&r)?, r.text(5)?))).transpose()
    }

    async fn verify_email(&self, user_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed = execute(
            &tx,
            "UPDATE users SET email_verified_at = coalesce(email_verified_at, $2) WHERE id = $1",
            &[&user_id, &ms(at)],
        )
        .await
        .map_err(pg)?;
        expect_one(changed)?;
        self.db.commit_authorization_change(tx).await
    }

    async fn create_session(
        &self,
        id_hash: [u8; 32],
        user_id: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let client = self.db.client().await?;
        execute(
            &client,
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&&id_hash[..], &user_id, &ms(at), &ms(expires_at)],
        )
        .await
        .map_err(constraint("a session with this id exists"))
        .map(drop)
    }

    async fn session_user(&self, id_hash: [u8; 32], now: DateTime<Utc>) -> StoreResult<Option<PulseUser>> {
        let client = self.db.client().await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2"
        );
        query_opt(&client, &sql, &[&&id_hash[..], &ms(now)]).await?.map(|r| rows::user(&r)).transpose()
    }

    async fn delete_session(&self, id_hash: [u8; 32]) -> StoreResult<()> {
        let client = self.db.client().await?;
        execute(&client, "DELETE FROM sessions WHERE id_hash = $1", &[&&id_hash[..]]).await.map_err(pg).map(drop)
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let client = self.db.client().await?;
        execute(&client, "DELETE FROM sessions WHERE expires_at <= $1", &[&ms(now)]).await.map_err(pg)
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
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        execute(
            &tx,
            "INSERT INTO teams (id, name, plan, max_sites, min_cadence_seconds, subscription_active, \
             cadence_seconds, failure_threshold, escalation_minutes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &team.id,
                &team.name,
                &team.limits.plan,
                &n(team.limits.max_sites),
                &n(team.limits.min_cadence_seconds),
                &i64::from(team.subscription_active),
                &n(team.defaults.cadence_seconds),
                &n(team.defaults.failure_threshold),
                &team.defaults.escalation_minutes.map(n),
                &ms(team.created_at),
            ],
        )
        .await
        .map_err(pg)?;
        insert_member(&tx, &team.id, owner_id, TeamRole::Owner, Permissions::all(), team.created_at).await?;
        self.db.commit_authorization_change(tx).await?;
        Ok(team)
    }

    async fn team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        load_team(&self.db.client().await?, team_id).await
    }

    async fn teams_of(&self, user_id: &str) -> StoreResult<Vec<(Team, TeamMember)>> {
        let client = self.db.client().await?;
        let sql = format!(
            "SELECT {TEAM_COLUMNS}, {MEMBER_COLUMNS} FROM team_members m \
             JOIN teams tm ON tm.id = m.team_id WHERE m.user_id = $1 ORDER BY m.created_at, m.team_id"
        );
        all(query(&client, &sql, &[&user_id]).await?, |r| Ok((rows::team_at(r, 0)?, rows::member_at(r, 10)?)))
    }

    async fn member(&self, team_id: &str, user_id: &str) -> StoreResult<Option<TeamMember>> {
        load_member(&self.db.client().await?, team_id, user_id).await
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
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        insert_member(&tx, team_id, user_id, role, member.permissions, at).await?;
        self.db.commit_authorization_change(tx).await?;
        Ok(member)
    }

    async fn set_member_permissions(&self, team_id: &str, user_id: &str, permissions: Permissions) -> StoreResult<()> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed = execute(
            &tx,
            "UPDATE team_members SET permissions = $3 WHERE team_id = $1 AND user_id = $2",
            &[&team_id, &user_id, &permissions.to_stored()],
        )
        .await
        .map_err(pg)?;
        expect_one(changed)?;
        self.db.commit_authorization_change(tx).await
    }

    async fn remove_member(&self, team_id: &str, user_id: &str) -> StoreResult<()> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // The team's owners, locked: two removals cannot both see another owner left.
        let owners = query(
            &tx,
            "SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'owner' ORDER BY user_id FOR UPDATE",
            &[&team_id],
        )
        .await?;
        let member = load_member(&tx, team_id, user_id).await?.ok_or(StoreError::NotFound)?;
        if member.role == TeamRole::Owner && owners.len() <= 1 {
            return Err(StoreError::Conflict("a team keeps at least one owner".into()));
        }
        execute(&tx, "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2", &[&team_id, &user_id])
            .await
            .map_err(pg)?;
        self.db.commit_authorization_change(tx).await
    }

    async fn set_subscription(&self, team_id: &str, active: bool) -> StoreResult<()> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed =
            execute(&tx, "UPDATE teams SET subscription_active = $2 WHERE id = $1", &[&team_id, &i64::from(active)])
                .await
                .map_err(pg)?;
        expect_one(changed)?;
        self.db.commit_authorization_change(tx).await
    }

    async fn set_defaults(&self, team_id: &str, defaults: MonitoringDefaults) -> StoreResult<Team> {
        let client = self.db.client().await?;
        let changed = execute(
            &client,
            "UPDATE teams SET cadence_seconds = $2, failure_threshold = $3, escalation_minutes = $4 WHERE id = $1",
            &[
                &team_id,
                &n(defaults.cadence_seconds),
                &n(defaults.failure_threshold),
                &defaults.escalation_minutes.map(n),
            ],
        )
        .await
        .map_err(pg)?;
        expect_one(changed)?;
        load_team(&client, team_id).await?.ok_or(StoreError::NotFound)
    }

    async fn create_token(&self, new: NewPulseToken) -> StoreResult<PulseTokenRecord> {
        insert_token(&self.db.client().await?, &new).await
    }

    async fn tokens_of(&self, user_id: &str) -> StoreResult<Vec<PulseTokenRecord>> {
        let client = self.db.client().await?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM personal_access_tokens p WHERE p.user_id = $1 AND p.grant_id IS NULL \
             ORDER BY p.created_at DESC, p.id DESC"
        );
        all(query(&client, &sql, &[&user_id]).await?, rows::token)
    }

    async fn revoke_token(&self, user_id: &str, token_id: &str, at: DateTime<Utc>) -> StoreResult<PulseTokenRecord> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let changed = execute(
            &tx,
            "UPDATE personal_access_tokens SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND user_id = $2",
            &[&token_id, &user_id, &ms(at)],
        )
        .await
        .map_err(pg)?;
        expect_one(changed)?;
        let token = load_token(&tx, token_id).await?.ok_or(StoreError::NotFound)?;
        self.db.commit_authorization_change(tx).await?;
        Ok(token)
    }

    async fn token_for_auth(&self, hash: TokenHash) -> StoreResult<Option<PulseTokenAuth>> {
        let client = self.db.client().await?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, (u.email_verified_at IS NOT NULL)::int::bigint FROM personal_access_tokens p \
             JOIN users u ON u.id = p.user_id WHERE p.secret_hash = $1"
        );
        query_opt(&client, &sql, &[&&hash.as_bytes()[..]])
            .await?
            .map(|r| {
                Ok(PulseTokenAuth { token: rows::token(&r)?, owner_email_verified: r.int(rows::TOKEN_WIDTH)? != 0 })
            })
            .transpose()
    }

    async fn touch_token(&self, token_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let client = self.db.client().await?;
        execute(
            &client,
            "UPDATE personal_access_tokens SET last_used_at = greatest(coalesce(last_used_at, 0), $2) WHERE id = $1",
            &[&token_id, &ms(at)],
        )
        .await
        .map_err(pg)
        .map(drop)
    }

    async fn save_client(&self, client: OAuthClient) -> StoreResult<()> {
        crate::postgres::oauth::save_client(&self.db, client).await
    }

    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        crate::postgres::oauth::oauth_client(&self.db, client_id).await
    }

    async fn create_grant(&self, grant: NewPulseGrant) -> StoreResult<String> {
        oauth::create_grant(&self.db, grant).await
    }

    async fn grant_by_code(&self, code_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
        oauth::grant_by_code(&self.db, code_hash).await
    }

    async fn grant_by_refresh(&self, refresh_hash: [u8; 32]) -> StoreResult<Option<PulseGrant>> {
        oauth::grant_by_refresh(&self.db, refresh_hash).await
    }

    async fn redeem_code(
        &self,
        code_hash: [u8; 32],
        issue: PulseGrantIssue,
    ) -> StoreResult<RedeemOutcome<PulseTokenRecord>> {
        oauth::redeem_code(&self.db, code_hash, issue).await
    }

    async fn refresh_grant(
        &self,
        refresh_hash: [u8; 32],
        issue: PulseGrantIssue,
        grace: Duration,
        idle: Duration,
    ) -> StoreResult<RefreshOutcome<PulseTokenRecord>> {
        oauth::refresh_grant(&self.db, refresh_hash, issue, grace, idle).await
    }

    async fn grants_of(&self, user_id: &str) -> StoreResult<Vec<PulseGrant>> {
        oauth::grants_of(&self.db, user_id).await
    }

    async fn revoke_grant(&self, user_id: &str, grant_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        oauth::revoke_grant(&self.db, user_id, grant_id, at).await
    }

    async fn create_site(&self, new: NewSite) -> StoreResult<Site> {
        let id = new_prefixed_id("site_");
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // The team's row, locked: two creations cannot both pass the limit.
        let team = query_opt(
            &tx,
            &format!("SELECT {TEAM_COLUMNS} FROM teams tm WHERE tm.id = $1 FOR UPDATE"),
            &[&new.team_id],
        )
        .await?
        .map(|r| rows::team_at(&r, 0))
        .transpose()?
        .ok_or(StoreError::NotFound)?;
        let sites = query_opt(&tx, "SELECT count(*) FROM sites WHERE team_id = $1", &[&new.team_id])
            .await?
            .map_or(Ok(0), |r| r.int(0))?;
        if sites >= n(team.limits.max_sites) {
            return Err(StoreError::Conflict(format!(
                "the team's plan allows {} sites; delete one or change the plan",
                team.limits.max_sites
            )));
        }
        let at = ms(new.created_at);
        execute(
            &tx,
            "INSERT INTO sites (id, team_id, name, url, cadence_seconds, next_check_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
            &[&id, &new.team_id, &new.name, &new.url, &new.cadence_seconds.map(n), &at],
        )
        .await
        .map_err(constraint("a site with this id exists"))?;
        let site = runs::load_site(&tx, &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg)?;
        Ok(site)
    }

    async fn site(&self, site_id: &str) -> StoreResult<Option<Site>> {
        runs::load_site(&self.db.client().await?, site_id).await
    }

    async fn sites_of(&self, team_id: &str) -> StoreResult<Vec<Site>> {
        let client = self.db.client().await?;
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites s WHERE s.team_id = $1 ORDER BY s.created_at, s.id");
        all(query(&client, &sql, &[&team_id]).await?, rows::site)
    }

    async fn update_site(&self, site_id: &str, patch: SitePatch, at: DateTime<Utc>) -> StoreResult<Site> {
        let client = self.db.client().await?;
        let changed = execute(
            &client,
            "UPDATE sites SET name = coalesce($2, name), url = coalesce($3, url), \
             cadence_seconds = CASE WHEN $4 THEN $5 ELSE cadence_seconds END, \
             paused = coalesce($6, paused), updated_at = $7 WHERE id = $1",
            &[
                &site_id,
                &patch.name,
                &patch.url,
                &patch.cadence_seconds.is_some(),
                &patch.cadence_seconds.flatten().map(n),
                &patch.paused.map(i64::from),
                &ms(at),
            ],
        )
        .await
        .map_err(pg)?;
        expect_one(changed)?;
        runs::load_site(&client, site_id).await?.ok_or(StoreError::NotFound)
    }

    async fn delete_site(&self, site_id: &str) -> StoreResult<()> {
        let client = self.db.client().await?;
        expect_one(execute(&client, "DELETE FROM sites WHERE id = $1", &[&site_id]).await.map_err(pg)?)
    }

    async fn queue_run(&self, site_id: &str, at: DateTime<Utc>) -> StoreResult<CheckRun> {
        runs::queue(&self.db, site_id, at).await
    }

    async fn check_run(&self, run_id: &str) -> StoreResult<Option<CheckRun>> {
        runs::load_run(&self.db.client().await?, run_id).await
    }

    async fn runs_of_site(&self, site_id: &str, limit: usize) -> StoreResult<Vec<CheckRun>> {
        runs::runs_of_site(&self.db, site_id, limit).await
    }

    async fn delete_run(&self, run_id: &str) -> StoreResult<()> {
        runs::delete(&self.db, run_id).await
    }

    async fn claim_runs(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedRun>> {
        runs::claim(&self.db, node, now, lease, limit).await
    }

    async fn finish_run(&self, run_id: &str, node: &str, outcome: RunOutcome) -> StoreResult<Option<Finished>> {
        runs::finish(&self.db, run_id, node, &outcome).await
    }

    async fn escalate_issues(&self, now: DateTime<Utc>) -> StoreResult<Vec<Issue>> {
        runs::escalate(&self.db, now).await
    }

    async fn issues_of_team(&self, team_id: &str, open_only: bool) -> StoreResult<Vec<Issue>> {
        runs::issues_of_team(&self.db, team_id, open_only).await
    }

    async fn issue(&self, issue_id: &str) -> StoreResult<Option<Issue>> {
        runs::load_issue(&self.db.client().await?, issue_id).await
    }
}
