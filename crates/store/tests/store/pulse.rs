//! SitePulse's store on the embedded engine: its own file and schema on
//! the shared writer, epoch and one-server lock.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sitegpt_access::PlainToken;
use sitegpt_access::sitepulse::{Permission, Permissions, PulseScope, PulseScopes, TeamRole, token_expiry};
use sitegpt_store::StoreError;
use sitegpt_store::postgres::pulse::PostgresPulseStore;
use sitegpt_store::pulse::{
    MonitoringDefaults, NewPulseToken, NewPulseUser, NewSite, NewTeam, PlanLimits, PulseStore, PulseUser, SitePatch,
    SiteStatus, Team,
};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;

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
    let ada = p.user("Ada@Example.com", false).await;
    assert_eq!(ada.email, "ada@example.com");
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
