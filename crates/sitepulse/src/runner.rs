//! The check runner of one node: every tick it escalates issues open
//! longer than their team allows, claims the runs that are due or queued
//! (the store makes each claim one node's), runs their checks side by
//! side, and records what each found. Issues open and resolve in the
//! store, in the run's transaction.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sitegpt_store::pulse::{ClaimedRun, Finished, PulseStore, RunOutcome};
use tokio::task::JoinSet;

use crate::check::{Checker, Report};

/// How a node runs checks.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// This node's name in claims (unique among nodes).
    pub node: String,
    /// How often the node looks for work.
    pub tick: Duration,
    /// Runs claimed at once.
    pub batch: usize,
}

impl RunnerSettings {
    /// How long a claim holds: longer than any check takes, so a claim
    /// lapses only when its node stopped.
    pub fn lease(&self, checker: &Checker) -> chrono::Duration {
        let longest = checker.policy().timeout + Duration::from_secs(30);
        chrono::Duration::from_std(longest).unwrap_or(chrono::Duration::minutes(5))
    }
}

/// A node's runner.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Arc<dyn PulseStore>,
    checker: Checker,
    settings: RunnerSettings,
}

impl Runner {
    pub fn new(store: Arc<dyn PulseStore>, checker: Checker, settings: RunnerSettings) -> Runner {
        Runner { store, checker, settings }
    }

    /// Claims what is due now, runs it, records it; what was recorded.
    pub async fn run_once(&self) -> Vec<Finished> {
        match self.store.escalate_issues(Utc::now()).await {
            Ok(escalated) => {
                for issue in escalated {
                    tracing::warn!(issue = %issue.id, site = %issue.site_id, team = %issue.team_id, "issue escalated");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not escalate issues"),
        }
        let lease = self.settings.lease(&self.checker);
        let claimed = match self.store.claim_runs(&self.settings.node, Utc::now(), lease, self.settings.batch).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim check runs");
                return Vec::new();
            }
        };
        let mut running = JoinSet::new();
        for run in claimed {
            let runner = self.clone();
            running.spawn(async move { runner.run(run).await });
        }
        let mut finished = Vec::new();
        while let Some(done) = running.join_next().await {
            finished.extend(done.ok().flatten());
        }
        finished
    }

    /// Runs one claimed check and records it.
    async fn run(&self, claimed: ClaimedRun) -> Option<Finished> {
        let report = self.checker.check(&claimed.url).await;
        let outcome = outcome(report);
        match self.store.finish_run(&claimed.run.id, &self.settings.node, outcome).await {
            Ok(Some(finished)) => {
                log(&finished);
                Some(finished)
            }
            Ok(None) => {
                tracing::warn!(run = %claimed.run.id, "a check outlived its claim; another node runs it");
                None
            }
            Err(e) => {
                tracing::warn!(run = %claimed.run.id, error = %e, "could not record a check");
                None
            }
        }
    }

    /// Runs checks every tick until the task is dropped.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.settings.tick);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.run_once().await;
            }
        })
    }
}

fn outcome(report: Report) -> RunOutcome {
    RunOutcome {
        up: report.up,
        finished_at: Utc::now(),
        http_status: report.http_status,
        latency_ms: report.latency_ms,
        redirects: Some(report.redirects),
        final_url: Some(report.final_url),
        tls_expires_at: report.tls_expires_at,
        error: report.error,
    }
}

fn log(finished: &Finished) {
    let (run, site) = (&finished.run, &finished.site);
    tracing::info!(run = %run.id, site = %site.id, status = run.status.as_str(), "check recorded");
    if let Some(issue) = &finished.opened {
        tracing::warn!(issue = %issue.id, site = %site.id, cause = %issue.cause, "issue opened");
    }
    if let Some(issue) = &finished.resolved {
        tracing::info!(issue = %issue.id, site = %site.id, "issue resolved");
    }
}
