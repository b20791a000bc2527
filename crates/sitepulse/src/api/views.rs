//! The JSON the API answers with: `{"data": …}` around a record or a list,
//! snake_case fields, times in RFC 3339 (UTC).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sitegpt_access::sitepulse::Permission;
use sitegpt_store::pulse::{CheckRun, Issue, Site, Team, TeamMember, effective_cadence};

#[derive(Debug, Serialize)]
pub struct Data<T> {
    pub data: T,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Plan")]
pub struct PlanView {
    pub name: String,
    pub max_sites: u32,
    pub min_cadence_seconds: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "MonitoringDefaults")]
pub struct MonitoringView {
    pub cadence_seconds: u32,
    pub failure_threshold: u32,
    pub escalation_minutes: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Team")]
pub struct TeamView {
    pub id: String,
    pub name: String,
    pub plan: PlanView,
    pub subscription_active: bool,
    pub monitoring: MonitoringView,
    /// The caller's role and permissions in the team.
    #[schemars(extend("enum" = ["owner", "admin", "member", "viewer"]))]
    pub role: &'static str,
    pub permissions: Vec<&'static str>,
    pub created_at: DateTime<Utc>,
}

impl TeamView {
    pub fn new(team: Team, member: &TeamMember) -> TeamView {
        TeamView {
            id: team.id,
            name: team.name,
            plan: PlanView {
                name: team.limits.plan,
                max_sites: team.limits.max_sites,
                min_cadence_seconds: team.limits.min_cadence_seconds,
            },
            subscription_active: team.subscription_active,
            monitoring: MonitoringView {
                cadence_seconds: team.defaults.cadence_seconds,
                failure_threshold: team.defaults.failure_threshold,
                escalation_minutes: team.defaults.escalation_minutes,
            },
            role: member.role.as_str(),
            permissions: member.permissions.iter().map(Permission::as_str).collect(),
            created_at: team.created_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Site")]
pub struct SiteView {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub url: String,
    /// The site's own cadence; `null`: the team's.
    pub cadence_seconds: Option<u32>,
    /// How often it is checked now.
    pub effective_cadence_seconds: u32,
    pub paused: bool,
    #[schemars(extend("enum" = ["unknown", "up", "down"]))]
    pub status: &'static str,
    pub consecutive_failures: u32,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SiteView {
    pub fn new(site: Site, team: &Team) -> SiteView {
        SiteView {
            effective_cadence_seconds: effective_cadence(site.cadence_seconds, team),
            id: site.id,
            team_id: site.team_id,
            name: site.name,
            url: site.url,
            cadence_seconds: site.cadence_seconds,
            paused: site.paused,
            status: site.status.as_str(),
            consecutive_failures: site.consecutive_failures,
            last_checked_at: site.last_checked_at,
            next_check_at: site.next_check_at,
            created_at: site.created_at,
            updated_at: site.updated_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "CheckRun")]
pub struct CheckView {
    pub id: String,
    pub site_id: String,
    pub team_id: String,
    #[schemars(extend("enum" = ["scheduled", "manual"]))]
    pub trigger: &'static str,
    #[schemars(extend("enum" = ["queued", "running", "up", "down"]))]
    pub status: &'static str,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub redirects: Option<u32>,
    pub final_url: Option<String>,
    pub tls_expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl From<CheckRun> for CheckView {
    fn from(run: CheckRun) -> CheckView {
        CheckView {
            id: run.id,
            site_id: run.site_id,
            team_id: run.team_id,
            trigger: run.trigger.as_str(),
            status: run.status.as_str(),
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            http_status: run.http_status,
            latency_ms: run.latency_ms,
            redirects: run.redirects,
            final_url: run.final_url,
            tls_expires_at: run.tls_expires_at,
            error: run.error,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Issue")]
pub struct IssueView {
    pub id: String,
    pub site_id: String,
    pub team_id: String,
    #[schemars(extend("enum" = ["open", "resolved"]))]
    pub status: &'static str,
    pub cause: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub first_check_id: String,
    pub last_check_id: String,
    /// When it had been open for the team's `escalation_minutes`.
    pub escalated_at: Option<DateTime<Utc>>,
}

impl From<Issue> for IssueView {
    fn from(issue: Issue) -> IssueView {
        IssueView {
            id: issue.id,
            site_id: issue.site_id,
            team_id: issue.team_id,
            status: issue.status.as_str(),
            cause: issue.cause,
            opened_at: issue.opened_at,
            resolved_at: issue.resolved_at,
            first_check_id: issue.first_run_id,
            last_check_id: issue.last_run_id,
            escalated_at: issue.escalated_at,
        }
    }
}
