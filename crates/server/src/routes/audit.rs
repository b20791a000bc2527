//! `GET /api/v2/audit-events`: the account's audit log, newest first.
//!
//! Owners and admins see every event of the account; everyone else the
//! events they did or that concern them. A person's own events (sign-ins,
//! passwords) belong to no team and are shown only to that person.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use sitegpt_access::Target;
use sitegpt_access::id::is_plausible_id;
use sitegpt_api_types::Page;
use sitegpt_api_types::audit::{AuditActor, AuditEvent as WireEvent};
use sitegpt_store::{AuditAction, AuditEvent, AuditQuery};

use super::ok;
use super::paging::{Position, next_page, window};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::request::QueryParams;
use crate::state::AppState;

/// The list's filters, as the API and the dashboard take them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The families an `action` filter may name instead of one action.
const FAMILIES: [&str; 5] = ["token", "oauth_grant", "user", "member", "subscription"];

/// Filters checked, ready for a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub token_id: Option<String>,
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Filters {
    /// Checks each filter; a blank one is no filter.
    pub fn parse(params: &ListParams) -> Result<Filters, ApiError> {
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let id = |name: &str, v: &Option<String>| match given(v) {
            Some(id) if !is_plausible_id(&id) => {
                Err(ApiError::validation(vec![name.into()], format!("{name} is not an id")))
            }
            other => Ok(other),
        };
        let action = match given(&params.action) {
            Some(a) if AuditAction::parse(&a).is_none() && !FAMILIES.contains(&a.as_str()) => {
                return Err(ApiError::validation(
                    vec!["action".into()],
                    format!(
                        "action must be one of {} or a family: {}",
                        AuditAction::ALL.map(AuditAction::as_str).join(", "),
                        FAMILIES.join(", ")
                    ),
                ));
            }
            other => other,
        };
        let filters = Filters {
            token_id: id("tokenId", &params.token_id)?,
            user_id: id("userId", &params.user_id)?,
            action,
            since: given(&params.since).map(|v| time("since", &v, false)).transpose()?,
            until: given(&params.until).map(|v| time("until", &v, true)).transpose()?,
        };
        if let (Some(since), Some(until)) = (filters.since, filters.until)
            && since >= until
        {
            return Err(ApiError::validation(vec!["until".into()], "until must be later than since"));
        }
        Ok(filters)
    }

    /// The store's query for `viewer` in `account_id`.
    pub fn query(
        self,
        account_id: &str,
        viewer: &str,
        everyone: bool,
        limit: usize,
        after: Option<Position>,
    ) -> AuditQuery {
        AuditQuery {
            account_id: account_id.to_owned(),
            viewer: viewer.to_owned(),
            everyone,
            user_id: self.user_id,
            token_id: self.token_id,
            action: self.action,
            since: self.since,
            until: self.until,
            limit,
            after,
        }
    }
}

/// An RFC 3339 time, or a date: the start of that day (UTC) for `since`,
/// its end for `until`, so `since=2026-12-01&until=2026-12-01` is that day.
fn time(name: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::validation(
            vec![name.into()],
            format!("{name} must be a date (2026-12-01) or an RFC 3339 time (2026-12-01T09:30:00Z)"),
        )
    })?;
    let start = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::validation(vec![name.into()], "no such day"))?;
    Ok(if end_of_day { start + Duration::days(1) } else { start })
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.authorize(Target::Account)?;
    let params = params.parse()?;
    let (limit, after) = window(params.limit.as_deref(), params.cursor.as_deref())?;
    let filters = Filters::parse(&params)?;
    let everyone = caller.role().manages_account();
    let query = filters.query(caller.account_id(), caller.user_id(), everyone, limit + 1, after);
    let events = state.store.audit_events(query).await?;
    let (events, next_cursor) = next_page(events, limit, |e| (e.at, e.id.as_str()));
    Ok(ok(Page { items: events.iter().map(to_wire).collect(), next_cursor }))
}

/// The API's view of a stored event.
pub fn to_wire(event: &AuditEvent) -> WireEvent {
    WireEvent {
        id: event.id.clone(),
        occurred_at: event.at,
        action: event.action.as_str().to_owned(),
        description: event.action.describe().to_owned(),
        account_id: event.account_id.clone(),
        actor: AuditActor {
            user_id: event.actor_user_id.clone(),
            email: event.actor_email.clone(),
            token_id: event.actor_token_id.clone(),
            service: event.actor_service.clone(),
        },
        user_id: event.user_id.clone(),
        user_email: event.user_email.clone(),
        token_id: event.token_id.clone(),
        target_id: event.target_id.clone(),
        ip: event.ip.clone(),
        user_agent: event.user_agent.clone(),
        details: event.details.clone(),
    }
}
