//! The handlers of API v1. Each takes the [`Caller`] (steps 1–3 done),
//! finds the team its record belongs to and passes it to
//! [`Caller::in_team`] (steps 4–6) before reading the body or answering.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sitegpt_store::pulse::{CheckRun, Issue, MonitoringDefaults, NewSite, Site, SitePatch, Team};

use super::auth::Caller;
use super::error::ApiError;
use super::input::Input;
use super::routes::AppState;
use super::views::{CheckView, Data, IssueView, SiteView, TeamView};

/// Check runs a list shows.
const RUNS_LISTED: usize = 100;

fn data<T: serde::Serialize>(value: T) -> Response {
    Json(Data { data: value }).into_response()
}

pub async fn teams(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let teams = state.store.teams_of(caller.user_id()).await?;
    Ok(data(teams.into_iter().map(|(team, member)| TeamView::new(team, &member)).collect::<Vec<_>>()))
}

pub async fn team(caller: Caller, Path(team_id): Path<String>) -> Result<Response, ApiError> {
    let (team, member) = caller.in_team(Some(&team_id)).await?;
    Ok(data(TeamView::new(team, &member)))
}

pub async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (team, member) = caller.in_team(Some(&team_id)).await?;
    let mut input = Input::parse(&body)?;
    let cadence = input.cadence("cadence_seconds", &team.limits, false).flatten();
    let threshold = input.integer("failure_threshold", 1, 20, false).flatten();
    let escalation = input.integer("escalation_minutes", 5, 1440, true);
    input.finish()?;
    let defaults = MonitoringDefaults {
        cadence_seconds: cadence.unwrap_or(team.defaults.cadence_seconds),
        failure_threshold: threshold.unwrap_or(team.defaults.failure_threshold),
        escalation_minutes: escalation.unwrap_or(team.defaults.escalation_minutes),
    };
    let team = state.store.set_defaults(&team.id, defaults).await?;
    Ok(data(TeamView::new(team, &member)))
}

pub async fn sites(
    State(state): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
) -> Result<Response, ApiError> {
    let (team, _) = caller.in_team(Some(&team_id)).await?;
    let sites = state.store.sites_of(&team.id).await?;
    Ok(data(sites.into_iter().map(|site| SiteView::new(site, &team)).collect::<Vec<_>>()))
}

pub async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (team, _) = caller.in_team(Some(&team_id)).await?;
    let mut input = Input::parse(&body)?;
    let name = input.name("name", true);
    let url = input.url("url", true);
    let cadence = input.cadence("cadence_seconds", &team.limits, true).flatten();
    input.finish()?;
    let (Some(name), Some(url)) = (name, url) else {
        return Err(ApiError::Internal("validated fields are missing".into()));
    };
    let new = NewSite { team_id: team.id.clone(), name, url, cadence_seconds: cadence, created_at: Utc::now() };
    let site = state.store.create_site(new).await?;
    Ok((StatusCode::CREATED, data(SiteView::new(site, &team))).into_response())
}

/// The site and its team, once the caller passed steps 4–6 in that team.
async fn site_in_team(state: &AppState, caller: &Caller, site_id: &str) -> Result<(Site, Team), ApiError> {
    caller.record_in_team(state.store.site(site_id).await?, |s: &Site| &s.team_id).await
}

pub async fn site(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
) -> Result<Response, ApiError> {
    let (site, team) = site_in_team(&state, &caller, &site_id).await?;
    Ok(data(SiteView::new(site, &team)))
}

pub async fn update_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (site, team) = site_in_team(&state, &caller, &site_id).await?;
    let mut input = Input::parse(&body)?;
    let patch = SitePatch {
        name: input.name("name", false),
        url: input.url("url", false),
        cadence_seconds: input.cadence("cadence_seconds", &team.limits, true),
        paused: input.boolean("paused"),
    };
    input.finish()?;
    let site = state.store.update_site(&site.id, patch, Utc::now()).await?;
    Ok(data(SiteView::new(site, &team)))
}

pub async fn delete_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
) -> Result<Response, ApiError> {
    let (site, _) = site_in_team(&state, &caller, &site_id).await?;
    state.store.delete_site(&site.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn checks(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
) -> Result<Response, ApiError> {
    let (site, _) = site_in_team(&state, &caller, &site_id).await?;
    let runs = state.store.runs_of_site(&site.id, RUNS_LISTED).await?;
    Ok(data(runs.into_iter().map(CheckView::from).collect::<Vec<_>>()))
}

pub async fn queue_check(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
) -> Result<Response, ApiError> {
    let (site, _) = site_in_team(&state, &caller, &site_id).await?;
    let run = state.store.queue_run(&site.id, Utc::now()).await?;
    Ok((StatusCode::ACCEPTED, data(CheckView::from(run))).into_response())
}

pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let (run, _) = caller.record_in_team(state.store.check_run(&run_id).await?, |r: &CheckRun| &r.team_id).await?;
    Ok(data(CheckView::from(run)))
}

pub async fn delete_check(
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let (run, _) = caller.record_in_team(state.store.check_run(&run_id).await?, |r: &CheckRun| &r.team_id).await?;
    state.store.delete_run(&run.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn issues(
    State(state): State<AppState>,
    caller: Caller,
    Path(team_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (team, _) = caller.in_team(Some(&team_id)).await?;
    let status = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "status")
        .map(|(_, value)| value.into_owned());
    let open_only = match status.as_deref() {
        None | Some("all") => false,
        Some("open") => true,
        Some(_) => return Err(ApiError::invalid("status", "The status field must be open or all.")),
    };
    let issues = state.store.issues_of_team(&team.id, open_only).await?;
    Ok(data(issues.into_iter().map(IssueView::from).collect::<Vec<_>>()))
}

pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    Path(issue_id): Path<String>,
) -> Result<Response, ApiError> {
    let (issue, _) = caller.record_in_team(state.store.issue(&issue_id).await?, |i: &Issue| &i.team_id).await?;
    Ok(data(IssueView::from(issue)))
}
