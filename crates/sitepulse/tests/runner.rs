//! The runner on a real store: checks of local sites opening and resolving
//! issues, and two nodes running each due check once, on both engines.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use chrono::Utc;
use common::{Answer, Site, local_policy};
use sitegpt_store::postgres::pulse::PostgresPulseStore;
use sitegpt_store::pulse::{
    IssueStatus, MonitoringDefaults, NewPulseUser, NewSite, NewTeam, PlanLimits, PulseStore, RunOutcome, RunStatus,
    RunTrigger, SiteStatus, Team,
};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;
use sitepulse::check::Checker;
use sitepulse::runner::{Runner, RunnerSettings};

/// A store per engine, with a handle for a second node; the guards keep
/// the folder and database until the end.
struct Engine {
    store: Arc<dyn PulseStore>,
    second: Arc<dyn PulseStore>,
    _dir: tempfile::TempDir,
    _database: Option<sitegpt_store::postgres::TestDatabase>,
}

async fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sitepulse.db");
    let mut engines = vec![Engine {
        store: Arc::new(SqlitePulseStore::open_serving(&path, Synchronous::Full).expect("open")),
        second: Arc::new(SqlitePulseStore::open(&path, Synchronous::Full).expect("second handle")),
        _dir: dir,
        _database: None,
    }];
    if let Some(url) = sitegpt_store::postgres::test_server_url(false) {
        let database = sitegpt_store::postgres::create_empty_test_database(&url).await.expect("a database");
        let store = PostgresPulseStore::connect(&database.url).await.expect("connect");
        let second = PostgresPulseStore::connect(&database.url).await.expect("second node");
        engines.push(Engine {
            store: Arc::new(store),
            second: Arc::new(second),
            _dir: tempfile::tempdir().expect("dir"),
            _database: Some(database),
        });
    }
    engines
}

async fn team(store: &Arc<dyn PulseStore>, failure_threshold: u32) -> Team {
    let owner = store
        .create_user(NewPulseUser {
            email: "ops@example.com".into(),
            name: "Ops".into(),
            password_hash: "$argon2id$fake".into(),
            verified: true,
            created_at: Utc::now(),
        })
        .await
        .expect("user");
    let new = NewTeam {
        name: "Ops".into(),
        limits: PlanLimits { plan: "pro".into(), max_sites: 100, min_cadence_seconds: 60 },
        subscription_active: true,
        defaults: MonitoringDefaults { cadence_seconds: 300, failure_threshold, escalation_minutes: None },
        created_at: Utc::now(),
    };
    store.create_team(new, &owner.id).await.expect("team")
}

fn runner(store: &Arc<dyn PulseStore>, node: &str) -> Runner {
    let checker = Checker::new(local_policy(), None).expect("checker");
    let settings = RunnerSettings { node: node.into(), tick: Duration::from_millis(50), batch: 8 };
    Runner::new(Arc::clone(store), checker, settings)
}

#[tokio::test]
async fn failing_checks_of_a_real_site_open_an_issue_and_recovery_resolves_it() {
    for engine in engines().await {
        let status = Arc::new(AtomicU16::new(500));
        let answer = Arc::clone(&status);
        let site = Site::start(move |_| Answer::Status(answer.load(Ordering::SeqCst))).await;
        let team = team(&engine.store, 2).await;
        let new = NewSite {
            team_id: team.id.clone(),
            name: "shop".into(),
            url: site.url("/health"),
            cadence_seconds: None,
            created_at: Utc::now(),
        };
        let monitored = engine.store.create_site(new).await.expect("site");
        let runner = runner(&engine.store, "node-a");

        // Due at creation: a scheduled check, down.
        let first = runner.run_once().await;
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].run.trigger, first[0].run.status), (RunTrigger::Scheduled, RunStatus::Down));
        assert_eq!(first[0].run.http_status, Some(500));
        assert!(first[0].opened.is_none(), "one failure of a threshold of two");
        assert!(runner.run_once().await.is_empty(), "nothing due until the cadence comes round");

        // A manual check, down again: the issue opens.
        engine.store.queue_run(&monitored.id, Utc::now()).await.expect("queue");
        let second = runner.run_once().await;
        let issue = second[0].opened.clone().expect("the second failure opens an issue");
        assert_eq!((issue.cause.as_str(), second[0].run.trigger), ("HTTP 500", RunTrigger::Manual));

        // The site recovers: the next check resolves it.
        status.store(200, Ordering::SeqCst);
        engine.store.queue_run(&monitored.id, Utc::now()).await.expect("queue");
        let third = runner.run_once().await;
        let resolved = third[0].resolved.clone().expect("a pass resolves it");
        assert_eq!((resolved.id, resolved.status), (issue.id, IssueStatus::Resolved));
        assert_eq!(third[0].site.status, SiteStatus::Up);
        assert!(third[0].run.latency_ms.is_some());
        assert_eq!(site.requests(), vec!["/health"; 3]);
    }
}

#[tokio::test]
async fn two_nodes_run_each_due_check_once() {
    for engine in engines().await {
        let site = Site::start(|_| Answer::Slow(Duration::from_millis(20))).await;
        let team = team(&engine.store, 3).await;
        for i in 0..24 {
            let new = NewSite {
                team_id: team.id.clone(),
                name: format!("site {i}"),
                url: site.url(&format!("/site-{i}")),
                cadence_seconds: None,
                created_at: Utc::now(),
            };
            engine.store.create_site(new).await.expect("site");
        }
        let (a, b) = (runner(&engine.store, "node-a"), runner(&engine.second, "node-b"));
        let mut finished = Vec::new();
        for _ in 0..4 {
            let (x, y) = tokio::join!(a.run_once(), b.run_once());
            finished.extend(x.into_iter().chain(y).map(|f| f.run.site_id));
        }
        let total = finished.len();
        finished.sort();
        finished.dedup();
        assert_eq!((total, finished.len()), (24, 24), "each site's check recorded once");
        let mut paths = site.requests();
        assert_eq!(paths.len(), 24, "each site fetched once");
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 24);
    }
}

#[tokio::test]
async fn the_runner_escalates_issues_open_longer_than_the_team_allows() {
    for engine in engines().await {
        let team = team(&engine.store, 1).await;
        let quick = MonitoringDefaults { cadence_seconds: 300, failure_threshold: 1, escalation_minutes: Some(5) };
        let then = Utc::now() - chrono::Duration::minutes(10);
        engine.store.set_defaults(&team.id, quick).await.expect("defaults");
        let new = NewSite {
            team_id: team.id.clone(),
            name: "shop".into(),
            url: "http://127.0.0.1:9/".into(),
            cadence_seconds: None,
            created_at: then,
        };
        engine.store.create_site(new).await.expect("site");
        // A failure recorded ten minutes ago opened an issue then.
        let claimed = engine.store.claim_runs("past", then, chrono::Duration::seconds(60), 10).await.expect("claim");
        let outcome = RunOutcome {
            up: false,
            finished_at: then,
            http_status: Some(503),
            latency_ms: None,
            redirects: None,
            final_url: None,
            tls_expires_at: None,
            error: None,
        };
        let finished =
            engine.store.finish_run(&claimed[0].run.id, "past", outcome).await.expect("finish").expect("held");
        let issue = finished.opened.expect("an issue");
        assert_eq!(issue.escalated_at, None);
        runner(&engine.store, "node-a").run_once().await;
        let escalated = engine.store.issue(&issue.id).await.expect("read").expect("issue");
        assert!(escalated.escalated_at.is_some_and(|at| at > then), "{escalated:?}");
    }
}
