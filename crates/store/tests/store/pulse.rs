//! SitePulse's store on the embedded engine: its own file and schema on
//! the shared writer, epoch and one-server lock.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sitegpt_access::PlainToken;
use sitegpt_access::sitepulse::{
    Permission, Permissions, PulseResource, PulseScope, PulseScopes, TeamRole, token_expiry,
};
use sitegpt_store::postgres::pulse::PostgresPulseStore;
use sitegpt_store::pulse::{
    Finished, IssueStatus, MonitoringDefaults, NewPulseGrant, NewPulseToken, NewPulseUser, NewSite, NewTeam,
    PlanLimits, PulseGrantIssue, PulseStore, PulseUser, RunOutcome, RunStatus, RunTrigger, Site, SitePatch, SiteStatus,
    Team,
};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;
use sitegpt_store::{ClientSource, OAuthClient, RedeemOutcome, RefreshOutcome, StoreError};

struct Pulse {
    store: Arc<dyn PulseStore>,
    dir: tempfile::TempDir,
    /// Dropped after the store (fields drop in order).
    database: Option<sitegpt_store::postgres::TestDatabase>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("a time")
}

fn pulse() -> Pulse {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("open");
    Pulse { store: Arc::new(store), dir, database: None }
}

/// SitePulse's store on each engine: SQLite, and PostgreSQL when a server
/// is given (on a new, empty database its store migrates).
async fn engines() -> Vec<Pulse> {
    let mut engines = vec![pulse()];
    if let Some(url) = crate::postgres_test_url() {
        let database = sitegpt_store::postgres::create_empty_test_database(&url).await.expect("a database");
        let store = PostgresPulseStore::connect(&database.url).await.expect("connect");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !store.listening() {
            assert!(std::time::Instant::now() < deadline, "the store never started listening");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let dir = tempfile::tempdir().expect("dir");
        engines.push(Pulse { store: Arc::new(store), dir, database: Some(database) });
    }
    engines
}

const DEFAULTS: MonitoringDefaults =
    MonitoringDefaults { cadence_seconds: 300, failure_threshold: 3, escalation_minutes: Some(30) };

impl Pulse {
    async fn user(&self, email: &str, verified: bool) -> PulseUser {
        self.store
            .create_user(NewPulseUser {
                email: email.into(),
                name: email.split('@').next().unwrap_or("x").into(),
                password_hash: "$argon2id$fake".into(),
                verified,
                created_at: t0(),
            })
            .await
            .expect("user")
    }

    async fn team(&self, owner: &PulseUser, max_sites: u32) -> Team {
        self.team_at(owner, max_sites, t0()).await
    }

    async fn team_at(&self, owner: &PulseUser, max_sites: u32, created_at: DateTime<Utc>) -> Team {
        let limits = PlanLimits { plan: "starter".into(), max_sites, min_cadence_seconds: 60 };
        let new = NewTeam { name: "Ops".into(), limits, subscription_active: true, defaults: DEFAULTS, created_at };
        self.store.create_team(new, &owner.id).await.expect("team")
    }

    fn epoch(&self) -> u64 {
        self.store.auth_epoch().expect("epoch")
    }
}

#[tokio::test]
async fn users_are_found_by_address_whatever_its_case_and_verified_once() {
    for p in engines().await {
        users_are_found_by_address_whatever_its_case_and_verified_once_on(p).await;
    }
}

async fn users_are_found_by_address_whatever_its_case_and_verified_once_on(p: Pulse) {
    assert_eq!(p.store.user_count().await.expect("count"), 0);
    let ada = p.user("Ada@Example.com", false).await;
    assert_eq!(ada.email, "ada@example.com");
    assert_eq!(p.store.user_count().await.expect("count"), 1);
    assert!(ada.email_verified_at.is_none());
    let taken = p
        .store
        .create_user(NewPulseUser {
            email: "ADA@example.com".into(),
            name: "Ada again".into(),
            password_hash: "x".into(),
            verified: true,
            created_at: t0(),
        })
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let (found, hash) = p.store.password_hash(" ada@EXAMPLE.com ").await.expect("read").expect("found");
    assert_eq!((found.id.as_str(), hash.as_str()), (ada.id.as_str(), "$argon2id$fake"));

    let before = p.epoch();
    p.store.verify_email(&ada.id, t0() + Duration::hours(1)).await.expect("verify");
    assert!(p.epoch() > before, "verifying changes decisions");
    p.store.verify_email(&ada.id, t0() + Duration::hours(2)).await.expect("again");
    let ada = p.store.user_by_email("ada@example.com").await.expect("read").expect("found");
    assert_eq!(ada.email_verified_at, Some(t0() + Duration::hours(1)), "the first time stays");
    assert!(matches!(p.store.verify_email("usr_nobody", t0()).await, Err(StoreError::NotFound)));
    assert_eq!(p.store.user_by_email("nobody@example.com").await.expect("read"), None);
}

#[tokio::test]
async fn teams_members_and_their_permissions() {
    for p in engines().await {
        teams_members_and_their_permissions_on(p).await;
    }
}

async fn teams_members_and_their_permissions_on(p: Pulse) {
    let (ada, bob) = (p.user("ada@example.com", true).await, p.user("bob@example.com", true).await);
    let team = p.team(&ada, 5).await;
    assert_eq!(p.store.team(&team.id).await.expect("read"), Some(team.clone()));
    let owner = p.store.member(&team.id, &ada.id).await.expect("read").expect("owner");
    assert_eq!((owner.role, owner.permissions), (TeamRole::Owner, Permissions::all()));
    assert_eq!(p.store.member(&team.id, &bob.id).await.expect("read"), None, "not a member");

    let member = p.store.add_member(&team.id, &bob.id, TeamRole::Member, None, t0()).await.expect("add");
    assert_eq!(member.permissions, TeamRole::Member.default_permissions());
    let again = p.store.add_member(&team.id, &bob.id, TeamRole::Viewer, None, t0()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let missing_team = p.store.add_member("team_none", &bob.id, TeamRole::Member, None, t0()).await;
    assert!(matches!(missing_team, Err(StoreError::NotFound)), "{missing_team:?}");

    // The team takes site creation away from Bob: the change applies at once.
    let before = p.epoch();
    let fewer = member.permissions.without(Permission::CreateSite);
    p.store.set_member_permissions(&team.id, &bob.id, fewer).await.expect("set");
    assert!(p.epoch() > before);
    let bob_now = p.store.member(&team.id, &bob.id).await.expect("read").expect("member");
    assert!(!bob_now.permissions.contains(Permission::CreateSite));
    assert!(bob_now.permissions.contains(Permission::UpdateSite));

    // Bob's teams: a second one of his own, listed after.
    let second = p.team_at(&bob, 1, t0() + Duration::minutes(1)).await;
    let teams: Vec<(String, TeamRole)> = p
        .store
        .teams_of(&bob.id)
        .await
        .expect("teams")
        .into_iter()
        .map(|(team, member)| (team.id, member.role))
        .collect();
    assert_eq!(teams, vec![(team.id.clone(), TeamRole::Member), (second.id.clone(), TeamRole::Owner)]);

    // The last owner stays; a member goes.
    let last = p.store.remove_member(&team.id, &ada.id).await;
    assert!(matches!(last, Err(StoreError::Conflict(_))), "{last:?}");
    p.store.remove_member(&team.id, &bob.id).await.expect("remove");
    assert_eq!(p.store.member(&team.id, &bob.id).await.expect("read"), None);
    assert!(matches!(p.store.remove_member(&team.id, &bob.id).await, Err(StoreError::NotFound)));

    // Plan and defaults.
    let before = p.epoch();
    p.store.set_subscription(&team.id, false).await.expect("lapse");
    assert!(p.epoch() > before, "a plan change changes decisions");
    assert!(!p.store.team(&team.id).await.expect("read").expect("team").subscription_active);
    let defaults = MonitoringDefaults { cadence_seconds: 60, failure_threshold: 2, escalation_minutes: None };
    let changed = p.store.set_defaults(&team.id, defaults).await.expect("defaults");
    assert_eq!(changed.defaults, defaults);
    assert!(matches!(p.store.set_defaults("team_none", defaults).await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn tokens_are_found_by_hash_revoked_by_their_owner_and_never_stored_in_plaintext() {
    for p in engines().await {
        tokens_are_found_by_hash_revoked_by_their_owner_and_never_stored_in_plaintext_on(p).await;
    }
}

async fn tokens_are_found_by_hash_revoked_by_their_owner_and_never_stored_in_plaintext_on(p: Pulse) {
    let (ada, eve) = (p.user("ada@example.com", false).await, p.user("eve@example.com", true).await);
    let plain = PlainToken::generate();
    let scopes: PulseScopes = [PulseScope::SitesRead, PulseScope::ChecksRun].into_iter().collect();
    let created = p
        .store
        .create_token(NewPulseToken {
            user_id: ada.id.clone(),
            name: "CI Pipeline".into(),
            hash: plain.hash(),
            hint: "abcd".into(),
            scopes,
            created_at: t0(),
            expires_at: token_expiry(t0()),
        })
        .await
        .expect("token");
    assert_eq!(created.expires_at, Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("time"));

    let auth = p.store.token_for_auth(plain.hash()).await.expect("read").expect("found");
    assert_eq!(auth.token, created);
    assert!(!auth.owner_email_verified, "the owner's address is not verified yet");
    p.store.verify_email(&ada.id, t0()).await.expect("verify");
    assert!(p.store.token_for_auth(plain.hash()).await.expect("read").expect("found").owner_email_verified);
    assert_eq!(p.store.token_for_auth(PlainToken::generate().hash()).await.expect("read"), None);

    let newer = p
        .store
        .create_token(NewPulseToken {
            user_id: ada.id.clone(),
            name: "Dashboard".into(),
            hash: PlainToken::generate().hash(),
            hint: "efgh".into(),
            scopes: PulseScopes::all(),
            created_at: t0() + Duration::minutes(1),
            expires_at: token_expiry(t0()),
        })
        .await
        .expect("second");
    let listed: Vec<String> = p.store.tokens_of(&ada.id).await.expect("list").into_iter().map(|t| t.id).collect();
    assert_eq!(listed, vec![newer.id.clone(), created.id.clone()], "newest first");
    assert!(p.store.tokens_of(&eve.id).await.expect("list").is_empty());

    // Only its owner revokes it; the first revocation's time stays.
    let by_eve = p.store.revoke_token(&eve.id, &created.id, t0()).await;
    assert!(matches!(by_eve, Err(StoreError::NotFound)), "{by_eve:?}");
    let before = p.epoch();
    let revoked = p.store.revoke_token(&ada.id, &created.id, t0() + Duration::hours(1)).await.expect("revoke");
    assert!(p.epoch() > before, "a revocation changes decisions");
    assert_eq!(revoked.revoked_at, Some(t0() + Duration::hours(1)));
    let twice = p.store.revoke_token(&ada.id, &created.id, t0() + Duration::hours(2)).await.expect("again");
    assert_eq!(twice.revoked_at, Some(t0() + Duration::hours(1)));
    let auth = p.store.token_for_auth(plain.hash()).await.expect("read").expect("still found");
    assert!(auth.token.revoked_at.is_some(), "found, and the decision refuses it");

    p.store.touch_token(&newer.id, t0() + Duration::hours(3)).await.expect("touch");
    p.store.touch_token(&newer.id, t0() + Duration::hours(2)).await.expect("an older use");
    let listed = p.store.tokens_of(&ada.id).await.expect("list");
    assert_eq!(listed[0].last_used_at, Some(t0() + Duration::hours(3)), "the latest use stays");

    if p.database.is_some() {
        return;
    }
    let mut bytes = Vec::new();
    for suffix in ["sitepulse.db", "sitepulse.db-wal"] {
        bytes.extend(std::fs::read(p.dir.path().join(suffix)).unwrap_or_default());
    }
    assert!(bytes.len() > 4096);
    let secret = plain.expose().to_string();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "plaintext token in the database");
}

#[tokio::test]
async fn sites_within_the_plan_patched_field_by_field_and_deleted() {
    for p in engines().await {
        sites_within_the_plan_patched_field_by_field_and_deleted_on(p).await;
    }
}

async fn sites_within_the_plan_patched_field_by_field_and_deleted_on(p: Pulse) {
    let ada = p.user("ada@example.com", true).await;
    let team = p.team(&ada, 2).await;
    let new = |name: &str, cadence| NewSite {
        team_id: team.id.clone(),
        name: name.into(),
        url: format!("https://{name}.example.com/"),
        cadence_seconds: cadence,
        created_at: t0(),
    };
    let shop = p.store.create_site(new("shop", None)).await.expect("site");
    assert_eq!((shop.status, shop.consecutive_failures, shop.paused), (SiteStatus::Unknown, 0, false));
    assert_eq!(shop.next_check_at, Some(t0()), "due at once");
    let blog = NewSite { created_at: t0() + Duration::minutes(1), ..new("blog", Some(60)) };
    let blog = p.store.create_site(blog).await.expect("second");
    let full = p.store.create_site(new("wiki", None)).await;
    match full {
        Err(StoreError::Conflict(message)) => assert!(message.contains("allows 2 sites"), "{message}"),
        other => panic!("a third site on a two-site plan: {other:?}"),
    }
    let other_team = NewSite { team_id: "team_none".into(), ..new("x", None) };
    assert!(matches!(p.store.create_site(other_team).await, Err(StoreError::NotFound)));
    let names: Vec<String> = p.store.sites_of(&team.id).await.expect("list").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["shop", "blog"]);

    let later = t0() + Duration::minutes(5);
    let renamed = p
        .store
        .update_site(&blog.id, SitePatch { name: Some("journal".into()), ..SitePatch::default() }, later)
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.cadence_seconds, renamed.url.as_str()),
        ("journal", Some(60), blog.url.as_str())
    );
    assert_eq!(renamed.updated_at, later);
    let reset = p
        .store
        .update_site(
            &blog.id,
            SitePatch { cadence_seconds: Some(None), paused: Some(true), ..SitePatch::default() },
            later,
        )
        .await
        .expect("back to the team's cadence");
    assert_eq!((reset.cadence_seconds, reset.paused, reset.name.as_str()), (None, true, "journal"));
    let missing = p.store.update_site("site_none", SitePatch::default(), later).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    p.store.delete_site(&shop.id).await.expect("delete");
    assert_eq!(p.store.site(&shop.id).await.expect("read"), None);
    assert!(matches!(p.store.delete_site(&shop.id).await, Err(StoreError::NotFound)));
    // Room again for a second site.
    p.store.create_site(new("wiki", None)).await.expect("within the plan again");
}

#[tokio::test]
async fn the_file_is_served_by_one_server_and_read_by_others() {
    let p = pulse();
    let ada = p.user("ada@example.com", true).await;
    let path = p.dir.path().join("sitepulse.db");
    let refused = SqlitePulseStore::open_serving(&path, Synchronous::Full).expect_err("a second server");
    assert!(refused.to_string().contains("another sitepulse-server is serving"), "{refused}");
    // An admin handle beside the server writes; the server sees it.
    let admin = SqlitePulseStore::open(&path, Synchronous::Full).expect("admin handle");
    let team = NewTeam {
        name: "Admin-made".into(),
        limits: PlanLimits { plan: "pro".into(), max_sites: 50, min_cadence_seconds: 30 },
        subscription_active: false,
        defaults: DEFAULTS,
        created_at: t0(),
    };
    let team = admin.create_team(team, &ada.id).await.expect("team by admin");
    let seen = p.store.teams_of(&ada.id).await.expect("teams");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, team);
    // Reopened later, everything is there.
    drop(admin);
    let Pulse { store, dir, .. } = p;
    drop(store);
    let reopened = SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("again");
    assert_eq!(reopened.team(&team.id).await.expect("read"), Some(team));
}

/// A run's outcome at `at`: up with 200, or down with 500.
fn outcome(up: bool, at: DateTime<Utc>) -> RunOutcome {
    RunOutcome {
        up,
        finished_at: at,
        http_status: Some(if up { 200 } else { 500 }),
        latency_ms: Some(12),
        redirects: Some(0),
        final_url: Some("https://shop.example.com/".into()),
        tls_expires_at: None,
        error: None,
    }
}

impl Pulse {
    /// A verified owner, a team (threshold 3, cadence 300 s, plan minimum
    /// 60 s) and one site of it, due at `t0()`.
    async fn site(&self) -> (Team, Site) {
        let ada = self.user("ada@example.com", true).await;
        let team = self.team(&ada, 50).await;
        let site = self
            .store
            .create_site(NewSite {
                team_id: team.id.clone(),
                name: "shop".into(),
                url: "https://shop.example.com/".into(),
                cadence_seconds: None,
                created_at: t0(),
            })
            .await
            .expect("site");
        (team, site)
    }

    /// Claims what is due at `at` and records `up` for each.
    async fn check(&self, at: DateTime<Utc>, up: bool) -> Vec<Finished> {
        let mut finished = Vec::new();
        for claimed in self.store.claim_runs("node-a", at, Duration::seconds(60), 10).await.expect("claim") {
            let done = self.store.finish_run(&claimed.run.id, "node-a", outcome(up, at)).await.expect("finish");
            finished.push(done.expect("the claim holds"));
        }
        finished
    }
}

#[tokio::test]
async fn manual_runs_wait_one_at_a_time_and_only_finished_manual_runs_are_deleted() {
    for p in engines().await {
        let (_, site) = p.site().await;
        let manual = p.store.queue_run(&site.id, t0()).await.expect("queue");
        assert_eq!((manual.trigger, manual.status), (RunTrigger::Manual, RunStatus::Queued));
        let again = p.store.queue_run(&site.id, t0()).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert!(matches!(p.store.queue_run("site_none", t0()).await, Err(StoreError::NotFound)));

        // The site is due too, but its manual run already waits: one run.
        let claimed = p.store.claim_runs("node-a", t0(), Duration::seconds(60), 10).await.expect("claim");
        assert_eq!(claimed.iter().map(|c| c.run.id.as_str()).collect::<Vec<_>>(), [manual.id.as_str()]);
        assert_eq!(claimed[0].url, "https://shop.example.com/");
        assert_eq!(claimed[0].run.status, RunStatus::Running);
        let running = p.store.delete_run(&manual.id).await;
        assert!(matches!(running, Err(StoreError::Conflict(_))), "{running:?}");
        p.store.finish_run(&manual.id, "node-a", outcome(true, t0())).await.expect("finish").expect("held");
        let done = p.store.check_run(&manual.id).await.expect("read").expect("run");
        assert_eq!((done.status, done.http_status, done.latency_ms), (RunStatus::Up, Some(200), Some(12)));
        assert_eq!(done.finished_at, Some(t0()));

        // A scheduled run is the history of the site's cadence: it stays.
        let later = t0() + Duration::seconds(300);
        let scheduled = p.check(later, true).await;
        assert_eq!(scheduled.len(), 1);
        assert_eq!(scheduled[0].run.trigger, RunTrigger::Scheduled);
        let kept = p.store.delete_run(&scheduled[0].run.id).await;
        assert!(matches!(kept, Err(StoreError::Conflict(_))), "{kept:?}");

        let listed: Vec<String> =
            p.store.runs_of_site(&site.id, 10).await.expect("runs").into_iter().map(|r| r.id).collect();
        assert_eq!(listed, vec![scheduled[0].run.id.clone(), manual.id.clone()], "newest first");
        assert_eq!(p.store.runs_of_site(&site.id, 1).await.expect("runs").len(), 1);
        p.store.delete_run(&manual.id).await.expect("a finished manual run");
        assert!(matches!(p.store.delete_run(&manual.id).await, Err(StoreError::NotFound)));
        assert_eq!(p.store.check_run(&manual.id).await.expect("read"), None);
    }
}

#[tokio::test]
async fn due_sites_are_checked_at_their_cadence_unless_paused_or_without_a_plan() {
    for p in engines().await {
        let (team, site) = p.site().await;
        assert!(p.check(t0() - Duration::seconds(1), true).await.is_empty(), "not due yet");
        assert_eq!(p.check(t0(), true).await.len(), 1, "due at creation");
        let after = p.store.site(&site.id).await.expect("read").expect("site");
        assert_eq!(after.next_check_at, Some(t0() + Duration::seconds(300)), "the team's cadence");
        assert_eq!((after.status, after.last_checked_at), (SiteStatus::Up, Some(t0())));
        assert!(p.check(t0() + Duration::seconds(299), true).await.is_empty());
        assert_eq!(p.check(t0() + Duration::seconds(300), true).await.len(), 1);

        // Its own cadence, never below the plan's minimum.
        let patch = SitePatch { cadence_seconds: Some(Some(10)), ..SitePatch::default() };
        p.store.update_site(&site.id, patch, t0()).await.expect("cadence");
        assert_eq!(p.check(t0() + Duration::seconds(600), true).await.len(), 1);
        let after = p.store.site(&site.id).await.expect("read").expect("site");
        assert_eq!(after.next_check_at, Some(t0() + Duration::seconds(660)), "60 s, the plan's minimum");

        // Paused: not scheduled.
        let pause = SitePatch { paused: Some(true), ..SitePatch::default() };
        p.store.update_site(&site.id, pause, t0()).await.expect("pause");
        assert!(p.check(t0() + Duration::seconds(700), true).await.is_empty());
        let resume = SitePatch { paused: Some(false), ..SitePatch::default() };
        p.store.update_site(&site.id, resume, t0()).await.expect("resume");
        // Without an active plan: not scheduled either.
        p.store.set_subscription(&team.id, false).await.expect("lapse");
        assert!(p.check(t0() + Duration::seconds(700), true).await.is_empty());
        p.store.set_subscription(&team.id, true).await.expect("renew");
        assert_eq!(p.check(t0() + Duration::seconds(700), true).await.len(), 1);
    }
}

#[tokio::test]
async fn failing_checks_open_an_issue_at_the_threshold_and_a_passing_one_resolves_it() {
    for p in engines().await {
        let (team, site) = p.site().await;
        let at = |i: i64| t0() + Duration::seconds(300 * i);
        for i in 0..2 {
            let done = p.check(at(i), false).await;
            assert_eq!(
                (done[0].site.consecutive_failures, done[0].opened.is_some()),
                (u32::try_from(i + 1).expect("small"), false)
            );
            assert_eq!(done[0].site.status, SiteStatus::Down);
        }
        let third = p.check(at(2), false).await.remove(0);
        let issue = third.opened.clone().expect("the third failure opens an issue");
        assert_eq!((issue.status, issue.cause.as_str(), issue.opened_at), (IssueStatus::Open, "HTTP 500", at(2)));
        assert_eq!((issue.first_run_id.as_str(), issue.site_id.as_str()), (third.run.id.as_str(), site.id.as_str()));
        let fourth = p.check(at(3), false).await.remove(0);
        assert!(fourth.opened.is_none() && fourth.resolved.is_none(), "one issue while it fails");
        let still = p.store.issue(&issue.id).await.expect("read").expect("issue");
        assert_eq!((still.status, still.last_run_id.as_str()), (IssueStatus::Open, fourth.run.id.as_str()));
        assert_eq!(p.store.issues_of_team(&team.id, true).await.expect("open").len(), 1);

        let pass = p.check(at(4), true).await.remove(0);
        let resolved = pass.resolved.expect("a pass resolves it");
        assert_eq!(
            (resolved.id.as_str(), resolved.status, resolved.resolved_at),
            (issue.id.as_str(), IssueStatus::Resolved, Some(at(4)))
        );
        assert_eq!((pass.site.status, pass.site.consecutive_failures), (SiteStatus::Up, 0));
        assert!(p.store.issues_of_team(&team.id, true).await.expect("open").is_empty());
        assert_eq!(p.store.issues_of_team(&team.id, false).await.expect("all").len(), 1);

        // A check that errs says why.
        for i in 5..8 {
            for claimed in p.store.claim_runs("node-a", at(i), Duration::seconds(60), 10).await.expect("claim") {
                let failed = RunOutcome {
                    http_status: None,
                    error: Some("timed out after 10 s".into()),
                    ..outcome(false, at(i))
                };
                p.store.finish_run(&claimed.run.id, "node-a", failed).await.expect("finish");
            }
        }
        let issues = p.store.issues_of_team(&team.id, false).await.expect("all");
        assert_eq!(issues.len(), 2);
        assert_eq!(
            (issues[0].cause.as_str(), issues[0].status),
            ("timed out after 10 s", IssueStatus::Open),
            "newest first"
        );
        assert_eq!(p.store.issue("iss_none").await.expect("read"), None);
        // Deleting the site takes its runs and issues.
        p.store.delete_site(&site.id).await.expect("delete");
        assert!(p.store.issues_of_team(&team.id, false).await.expect("all").is_empty());
        assert_eq!(p.store.check_run(&third.run.id).await.expect("read"), None);
    }
}

#[tokio::test]
async fn a_node_whose_claim_lapsed_records_nothing_and_another_node_runs_the_check() {
    for p in engines().await {
        let (_, site) = p.site().await;
        let a = p.store.claim_runs("node-a", t0(), Duration::seconds(10), 10).await.expect("claim");
        assert_eq!(a.len(), 1);
        assert!(
            p.store
                .claim_runs("node-b", t0() + Duration::seconds(5), Duration::seconds(10), 10)
                .await
                .expect("b")
                .is_empty(),
            "held"
        );
        let b = p.store.claim_runs("node-b", t0() + Duration::seconds(10), Duration::seconds(10), 10).await.expect("b");
        assert_eq!(b.iter().map(|c| &c.run.id).collect::<Vec<_>>(), [&a[0].run.id], "the lapsed claim is taken over");
        let late =
            p.store.finish_run(&a[0].run.id, "node-a", outcome(false, t0() + Duration::seconds(11))).await.expect("a");
        assert_eq!(late, None, "node-a lost the claim");
        let done =
            p.store.finish_run(&b[0].run.id, "node-b", outcome(true, t0() + Duration::seconds(12))).await.expect("b");
        assert_eq!(done.expect("node-b holds it").run.status, RunStatus::Up);
        let site = p.store.site(&site.id).await.expect("read").expect("site");
        assert_eq!((site.status, site.consecutive_failures), (SiteStatus::Up, 0), "only node-b's result counts");
        // Finishing twice records once.
        assert_eq!(p.store.finish_run(&b[0].run.id, "node-b", outcome(false, t0())).await.expect("again"), None);
    }
}

/// Two nodes (two handles on one database) claiming at once: each due
/// site gets one run, and each run is claimed by one node.
#[tokio::test]
async fn two_nodes_claiming_together_run_each_check_once() {
    for p in engines().await {
        let ada = p.user("ada@example.com", true).await;
        let team = p.team(&ada, 100).await;
        for i in 0..40 {
            let new = NewSite {
                team_id: team.id.clone(),
                name: format!("site {i}"),
                url: format!("https://s{i}.example.com/"),
                cadence_seconds: None,
                created_at: t0(),
            };
            p.store.create_site(new).await.expect("site");
        }
        let other: Arc<dyn PulseStore> = match &p.database {
            Some(db) => Arc::new(PostgresPulseStore::connect(&db.url).await.expect("second node")),
            None => {
                Arc::new(SqlitePulseStore::open(&p.dir.path().join("sitepulse.db"), Synchronous::Full).expect("second"))
            }
        };
        let node = |store: Arc<dyn PulseStore>, name: &'static str| {
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let batch = store.claim_runs(name, t0(), Duration::seconds(60), 3).await.expect("claim");
                    if batch.is_empty() {
                        return claimed;
                    }
                    claimed.extend(batch.into_iter().map(|c| c.run.site_id));
                }
            })
        };
        let (a, b) = (node(Arc::clone(&p.store), "node-a"), node(other, "node-b"));
        let (a, b) = (a.await.expect("node a"), b.await.expect("node b"));
        let mut all: Vec<String> = a.iter().chain(&b).cloned().collect();
        all.sort();
        let total = all.len();
        all.dedup();
        assert_eq!((total, all.len()), (40, 40), "every site checked once (a: {}, b: {})", a.len(), b.len());
    }
}

#[tokio::test]
async fn sessions_are_found_by_the_hash_of_their_id_until_they_end() {
    for p in engines().await {
        let ada = p.user("ada@example.com", true).await;
        let (id, other) = ([7u8; 32], [8u8; 32]);
        let ends = t0() + Duration::days(14);
        p.store.create_session(id, &ada.id, t0(), ends).await.expect("session");
        let again = p.store.create_session(id, &ada.id, t0(), ends).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let unknown_user = p.store.create_session(other, "usr_none", t0(), ends).await;
        assert!(matches!(unknown_user, Err(StoreError::NotFound)), "{unknown_user:?}");
        assert_eq!(p.store.session_user(id, t0()).await.expect("read").map(|u| u.id), Some(ada.id.clone()));
        assert_eq!(
            p.store.session_user(id, ends - Duration::seconds(1)).await.expect("read").map(|u| u.id),
            Some(ada.id.clone())
        );
        assert_eq!(p.store.session_user(id, ends).await.expect("read"), None, "ended at its end");
        assert_eq!(p.store.session_user(other, t0()).await.expect("read"), None);

        p.store.create_session(other, &ada.id, t0(), t0() + Duration::hours(1)).await.expect("short");
        assert_eq!(p.store.purge_sessions(t0() + Duration::hours(2)).await.expect("purge"), 1, "only the ended one");
        assert!(p.store.session_user(id, t0()).await.expect("read").is_some());
        p.store.delete_session(id).await.expect("sign out");
        assert_eq!(p.store.session_user(id, t0()).await.expect("read"), None);
        p.store.delete_session(id).await.expect("signing out twice is no error");
    }
}

#[tokio::test]
async fn issues_open_longer_than_the_teams_escalation_minutes_are_escalated_once() {
    for p in engines().await {
        // DEFAULTS: threshold 3, escalation after 30 minutes.
        let (team, _) = p.site().await;
        for i in 0..3 {
            p.check(t0() + Duration::seconds(300 * i), false).await;
        }
        let opened_at = t0() + Duration::seconds(600);
        let issue = p.store.issues_of_team(&team.id, true).await.expect("issues").remove(0);
        assert_eq!((issue.opened_at, issue.escalated_at), (opened_at, None));
        assert!(p.store.escalate_issues(opened_at + Duration::minutes(29)).await.expect("escalate").is_empty());
        let escalated = p.store.escalate_issues(opened_at + Duration::minutes(30)).await.expect("escalate");
        assert_eq!(escalated.iter().map(|i| &i.id).collect::<Vec<_>>(), [&issue.id]);
        assert_eq!(escalated[0].escalated_at, Some(opened_at + Duration::minutes(30)));
        assert!(p.store.escalate_issues(opened_at + Duration::hours(5)).await.expect("again").is_empty(), "once");
        assert_eq!(
            p.store.issue(&issue.id).await.expect("read").expect("issue").escalated_at,
            Some(opened_at + Duration::minutes(30))
        );

        // A team without escalation, and a resolved issue: never.
        let quiet = MonitoringDefaults { escalation_minutes: None, ..DEFAULTS };
        p.store.set_defaults(&team.id, quiet).await.expect("defaults");
        p.check(t0() + Duration::seconds(900), true).await;
        for i in 4..7 {
            p.check(t0() + Duration::seconds(300 * i), false).await;
        }
        assert_eq!(p.store.issues_of_team(&team.id, true).await.expect("open").len(), 1);
        assert!(p.store.escalate_issues(t0() + Duration::days(1)).await.expect("escalate").is_empty());
    }
}

fn grant_issue(user: &PulseUser, at: DateTime<Utc>, scopes: PulseScopes) -> (PulseGrantIssue, PlainToken) {
    let plain = PlainToken::generate();
    let token = NewPulseToken {
        user_id: user.id.clone(),
        name: "Agent".into(),
        hash: plain.hash(),
        hint: "wxyz".into(),
        scopes,
        created_at: at,
        expires_at: at + Duration::hours(1),
    };
    (PulseGrantIssue { token, refresh_hash: PlainToken::generate().hash().0 }, plain)
}

#[tokio::test]
async fn a_code_is_redeemed_once_refresh_tokens_rotate_and_a_replay_revokes_the_grant() {
    for p in engines().await {
        a_code_is_redeemed_once_refresh_tokens_rotate_and_a_replay_revokes_the_grant_on(p).await;
    }
}

async fn a_code_is_redeemed_once_refresh_tokens_rotate_and_a_replay_revokes_the_grant_on(p: Pulse) {
    let (ada, eve) = (p.user("ada@example.com", true).await, p.user("eve@example.com", true).await);
    let client = OAuthClient {
        id: "oc_agent".into(),
        name: "Agent".into(),
        redirect_uris: vec!["http://127.0.0.1:9/callback".into()],
        source: ClientSource::Registered,
        created_at: t0(),
        last_used_at: t0(),
    };
    p.store.save_client(client.clone()).await.expect("client");
    assert_eq!(p.store.oauth_client("oc_agent").await.expect("read"), Some(client));
    assert_eq!(p.store.oauth_client("oc_other").await.expect("read"), None);

    let scopes: PulseScopes = [PulseScope::SitesRead, PulseScope::ChecksRun].into_iter().collect();
    let new_grant = |code: u8| NewPulseGrant {
        client_id: "oc_agent".into(),
        user_id: ada.id.clone(),
        scopes,
        resource: PulseResource::Mcp,
        redirect_uri: "http://127.0.0.1:9/callback".into(),
        code_hash: [code; 32],
        code_challenge: "c".repeat(43),
        now: t0(),
        code_expires_at: t0() + Duration::seconds(60),
    };
    let grant_id = p.store.create_grant(new_grant(1)).await.expect("grant");
    let grant = p.store.grant_by_code([1; 32]).await.expect("read").expect("found");
    assert_eq!((grant.id.as_str(), grant.client_name.as_str(), grant.scopes), (grant_id.as_str(), "Agent", scopes));
    assert_eq!(grant.resource, PulseResource::Mcp);
    assert!(p.store.grants_of(&ada.id).await.expect("list").is_empty(), "not connected until redeemed");

    // Redeemed once: an access token for the grant's resource, not listed
    // among the personal tokens, and a refresh token.
    let at = t0() + Duration::seconds(5);
    let (first, access) = grant_issue(&ada, at, scopes);
    let refresh = first.refresh_hash;
    let RedeemOutcome::Issued(token) = p.store.redeem_code([1; 32], first).await.expect("redeem") else {
        panic!("issued")
    };
    assert_eq!((token.audience, token.scopes), (Some(PulseResource::Mcp), scopes));
    let auth = p.store.token_for_auth(access.hash()).await.expect("read").expect("found");
    assert_eq!(auth.token.audience, Some(PulseResource::Mcp));
    assert!(p.store.tokens_of(&ada.id).await.expect("list").is_empty(), "OAuth tokens are the connected app's");
    let connected = p.store.grants_of(&ada.id).await.expect("list");
    assert_eq!(connected.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [grant_id.as_str()]);
    assert_eq!(p.store.grant_by_refresh(refresh).await.expect("read").map(|g| g.id), Some(grant_id.clone()));

    // The refresh token rotates; the superseded one works within the grace only.
    let grace = Duration::seconds(60);
    let idle = Duration::days(90);
    let (second, _) = grant_issue(&ada, at + Duration::seconds(10), scopes);
    let next = second.refresh_hash;
    let refreshed = p.store.refresh_grant(refresh, second, grace, idle).await.expect("refresh");
    assert!(matches!(refreshed, RefreshOutcome::Issued(_)), "{refreshed:?}");
    let (retry, _) = grant_issue(&ada, at + Duration::seconds(20), scopes);
    let retried = p.store.refresh_grant(refresh, retry, grace, idle).await.expect("retry");
    assert!(matches!(retried, RefreshOutcome::Issued(_)), "a retry within the grace: {retried:?}");
    let (unknown, _) = grant_issue(&ada, at + Duration::seconds(30), scopes);
    assert_eq!(p.store.refresh_grant([9; 32], unknown, grace, idle).await.expect("unknown"), RefreshOutcome::Unknown);

    // A code used twice revokes the grant and every token issued from it.
    let before = p.epoch();
    let (replay, _) = grant_issue(&ada, at + Duration::seconds(40), scopes);
    assert_eq!(p.store.redeem_code([1; 32], replay).await.expect("replay"), RedeemOutcome::Replayed);
    assert!(p.epoch() > before, "a revocation changes decisions");
    let auth = p.store.token_for_auth(access.hash()).await.expect("read").expect("found");
    assert!(auth.token.revoked_at.is_some(), "the grant's tokens are revoked");
    let (after, _) = grant_issue(&ada, at + Duration::seconds(50), scopes);
    assert_eq!(p.store.refresh_grant(next, after, grace, idle).await.expect("ended"), RefreshOutcome::Ended);
    assert!(p.store.grants_of(&ada.id).await.expect("list").is_empty());

    // Unknown and expired codes; a refresh token superseded past the grace
    // revokes its grant; only its owner revokes a grant.
    let (unknown, _) = grant_issue(&ada, at, scopes);
    assert_eq!(p.store.redeem_code([7; 32], unknown).await.expect("unknown"), RedeemOutcome::Unknown);
    p.store.create_grant(new_grant(2)).await.expect("grant");
    let (late, _) = grant_issue(&ada, t0() + Duration::seconds(61), scopes);
    assert_eq!(p.store.redeem_code([2; 32], late).await.expect("late"), RedeemOutcome::Expired);
    let other = p.store.create_grant(new_grant(3)).await.expect("grant");
    let (third, _) = grant_issue(&ada, at, scopes);
    let old = third.refresh_hash;
    assert!(matches!(p.store.redeem_code([3; 32], third).await.expect("redeem"), RedeemOutcome::Issued(_)));
    let (rotated, _) = grant_issue(&ada, at + Duration::seconds(1), scopes);
    assert!(matches!(
        p.store.refresh_grant(old, rotated, grace, idle).await.expect("rotate"),
        RefreshOutcome::Issued(_)
    ));
    let (stale, _) = grant_issue(&ada, at + Duration::seconds(120), scopes);
    assert_eq!(p.store.refresh_grant(old, stale, grace, idle).await.expect("stale"), RefreshOutcome::Reused);
    let by_eve = p.store.revoke_grant(&eve.id, &other, t0()).await;
    assert!(matches!(by_eve, Err(StoreError::NotFound)), "{by_eve:?}");
    let fourth = p.store.create_grant(new_grant(4)).await.expect("grant");
    let (issued, fourth_access) = grant_issue(&ada, at, scopes);
    assert!(matches!(p.store.redeem_code([4; 32], issued).await.expect("redeem"), RedeemOutcome::Issued(_)));
    p.store.revoke_grant(&ada.id, &fourth, at + Duration::seconds(2)).await.expect("revoke");
    let auth = p.store.token_for_auth(fourth_access.hash()).await.expect("read").expect("found");
    assert!(auth.token.revoked_at.is_some(), "revoking the app revokes its tokens");
}
