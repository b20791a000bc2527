//! API v1 through its router, on both engines: the documentation's
//! decision order row by row, tokens across teams, six-month lifetimes,
//! and the routes for teams, sites, check runs and issues.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sitegpt_access::sitepulse::{Permission, PulseAccessToken, PulseScope, PulseScopes, TeamRole, token_expiry};
use sitegpt_store::pulse::{
    MonitoringDefaults, NewPulseToken, NewPulseUser, NewSite, NewTeam, PlanLimits, PulseStore, PulseUser, RunOutcome,
    Site, Team,
};
use sitegpt_store::sqlite::Synchronous;
use sitegpt_store::sqlite::pulse::SqlitePulseStore;
use sitepulse::api::{AppState, ROUTES, router};
use tower::ServiceExt;

struct Api {
    store: Arc<dyn PulseStore>,
    _dir: tempfile::TempDir,
    _database: Option<sitegpt_store::postgres::TestDatabase>,
}

async fn engines() -> Vec<Api> {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqlitePulseStore::open_serving(&dir.path().join("sitepulse.db"), Synchronous::Full).expect("open");
    let mut engines = vec![Api { store: Arc::new(store), _dir: dir, _database: None }];
    if let Some(url) = sitegpt_store::postgres::test_server_url(false) {
        let database = sitegpt_store::postgres::create_empty_test_database(&url).await.expect("database");
        let store = sitegpt_store::postgres::pulse::PostgresPulseStore::connect(&database.url).await.expect("connect");
        engines.push(Api {
            store: Arc::new(store),
            _dir: tempfile::tempdir().expect("dir"),
            _database: Some(database),
        });
    }
    engines
}

struct Answer {
    status: StatusCode,
    body: Value,
    www_authenticate: Option<String>,
}

impl Api {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(method).uri(path).header(header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
            None => request.body(Body::empty()).expect("request"),
        };
        let response = router(AppState::new(Arc::clone(&self.store), "http://127.0.0.1:8090"))
            .oneshot(request)
            .await
            .expect("answer");
        let status = response.status();
        let www_authenticate =
            response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON answer") };
        Answer { status, body, www_authenticate }
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, Some(token), None).await
    }

    async fn user(&self, email: &str, verified: bool) -> PulseUser {
        let new = NewPulseUser {
            email: email.into(),
            name: email.into(),
            password_hash: "$argon2id$fake".into(),
            verified,
            created_at: Utc::now(),
        };
        self.store.create_user(new).await.expect("user")
    }

    async fn team(&self, owner: &PulseUser, active: bool, max_sites: u32) -> Team {
        let new = NewTeam {
            name: format!("{}'s team", owner.name),
            limits: PlanLimits { plan: "starter".into(), max_sites, min_cadence_seconds: 60 },
            subscription_active: active,
            defaults: MonitoringDefaults { cadence_seconds: 300, failure_threshold: 1, escalation_minutes: None },
            created_at: Utc::now(),
        };
        self.store.create_team(new, &owner.id).await.expect("team")
    }

    /// A token of `user` created at `created_at` (expiring six months on).
    async fn token_at(&self, user: &PulseUser, scopes: &[PulseScope], created_at: DateTime<Utc>) -> String {
        let plain = PulseAccessToken::generate();
        let new = NewPulseToken {
            user_id: user.id.clone(),
            name: "CI Pipeline".into(),
            hash: plain.hash(),
            hint: plain.hint(),
            scopes: scopes.iter().copied().collect::<PulseScopes>(),
            created_at,
            expires_at: token_expiry(created_at),
        };
        self.store.create_token(new).await.expect("token");
        plain.expose()
    }

    async fn token(&self, user: &PulseUser, scopes: &[PulseScope]) -> String {
        self.token_at(user, scopes, Utc::now()).await
    }

    async fn site(&self, team: &Team) -> Site {
        let new = NewSite {
            team_id: team.id.clone(),
            name: "shop".into(),
            url: "https://shop.example.com/".into(),
            cadence_seconds: None,
            created_at: Utc::now(),
        };
        self.store.create_site(new).await.expect("site")
    }

    /// A finished failing run of `site` and the issue it opened (threshold 1).
    async fn failed_run(&self, site: &Site) -> (String, String) {
        let run = self.store.queue_run(&site.id, Utc::now()).await.expect("queue");
        let claimed = self.store.claim_runs("test", Utc::now(), Duration::seconds(60), 100).await.expect("claim");
        assert!(claimed.iter().any(|c| c.run.id == run.id));
        let finished = self.store.finish_run(&run.id, "test", outcome(false)).await.expect("finish").expect("held");
        for other in claimed.iter().filter(|c| c.run.id != run.id) {
            self.store.finish_run(&other.run.id, "test", outcome(true)).await.expect("finish other");
        }
        let issue = finished.opened.expect("a threshold of one opens an issue");
        (run.id, issue.id)
    }
}

/// A run's outcome at now: up with 200, or down with 503.
fn outcome(up: bool) -> RunOutcome {
    RunOutcome {
        up,
        finished_at: Utc::now(),
        http_status: Some(if up { 200 } else { 503 }),
        latency_ms: Some(40),
        redirects: Some(0),
        final_url: None,
        tls_expires_at: None,
        error: None,
    }
}

const ALL: &[PulseScope] = PulseScope::ALL;

#[tokio::test]
async fn the_decision_order_row_by_row() {
    for api in engines().await {
        let owner = api.user("owner@example.com", true).await;
        let team = api.team(&owner, true, 10).await;
        let site = api.site(&team).await;
        let (run_id, issue_id) = api.failed_run(&site).await;
        let create = format!("/api/v1/teams/{}/sites", team.id);
        let body = json!({"name": "blog", "url": "https://blog.example.com/"});

        // 401: no token, not a token, another product's token, unknown.
        let none = api.call("POST", &create, None, Some(body.clone())).await;
        assert_eq!((none.status, none.www_authenticate.as_deref()), (StatusCode::UNAUTHORIZED, Some("Bearer")));
        assert!(none.body["message"].as_str().is_some_and(|m| m.starts_with("Unauthenticated.")), "{}", none.body);
        let sitegpt = sitegpt_access::PlainToken::generate().expose();
        for bad in ["nonsense", sitegpt.as_str(), &PulseAccessToken::generate().expose()] {
            let answer = api.call("POST", &create, Some(bad), Some(body.clone())).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
        }

        // 401: expired (six months after creation) and revoked, whatever else holds.
        let old = api.token_at(&owner, ALL, Utc::now() - Duration::days(184)).await;
        let expired = api.call("POST", &create, Some(&old), Some(body.clone())).await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
        assert!(expired.body["message"].as_str().is_some_and(|m| m.contains("expired")), "{}", expired.body);
        let almost = api.token_at(&owner, ALL, Utc::now() - Duration::days(180)).await;
        assert_eq!(api.get("/api/v1/teams", &almost).await.status, StatusCode::OK, "inside six months");
        let revoked = api.token(&owner, ALL).await;
        let tokens = api.store.tokens_of(&owner.id).await.expect("tokens");
        api.store.revoke_token(&owner.id, &tokens[0].id, Utc::now()).await.expect("revoke");
        let answer = api.call("POST", &create, Some(&revoked), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body["message"].as_str().is_some_and(|m| m.contains("revoked")), "{}", answer.body);

        // 401: an owner whose e-mail is not verified, even with every scope in their own team.
        let unverified = api.user("new@example.com", false).await;
        let own_team = api.team(&unverified, true, 10).await;
        let token = api.token(&unverified, ALL).await;
        let answer = api.get(&format!("/api/v1/teams/{}", own_team.id), &token).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body["message"].as_str().is_some_and(|m| m.contains("not verified")), "{}", answer.body);

        // 403: the scope is missing, though the owner's role allows the action.
        let narrow = api.token(&owner, &[PulseScope::SitesRead, PulseScope::TeamsRead]).await;
        let answer = api.call("POST", &create, Some(&narrow), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.body, json!({"message": "The token lacks the `sites:write` scope this route requires."}));
        assert_eq!(api.get(&create, &narrow).await.status, StatusCode::OK, "reading needs sites:read only");

        // 404: not a member of the team, named or implied by the site, check or issue.
        let stranger = api.user("stranger@example.com", true).await;
        let outsider = api.token(&stranger, ALL).await;
        for path in [
            format!("/api/v1/teams/{}", team.id),
            format!("/api/v1/teams/{}/sites", team.id),
            format!("/api/v1/sites/{}", site.id),
            format!("/api/v1/sites/{}/checks", site.id),
            format!("/api/v1/checks/{run_id}"),
            format!("/api/v1/teams/{}/issues", team.id),
            format!("/api/v1/issues/{issue_id}"),
            "/api/v1/sites/site_nonexistent".to_owned(),
            "/api/v1/checks/run_nonexistent".to_owned(),
            "/api/v1/issues/iss_nonexistent".to_owned(),
        ] {
            let answer = api.get(&path, &outsider).await;
            assert_eq!(
                (answer.status, &answer.body),
                (StatusCode::NOT_FOUND, &json!({"message": "Not found."})),
                "{path}"
            );
        }
        let answer = api.call("DELETE", &format!("/api/v1/sites/{}", site.id), Some(&outsider), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "a foreign site is not there to delete");
        assert!(api.store.site(&site.id).await.expect("read").is_some());

        // 402: a member of a team without an active plan, with the exact body.
        let lapsed = api.team(&owner, false, 10).await;
        let lapsed_site = api.site(&lapsed).await;
        let full = api.token(&owner, ALL).await;
        for path in [format!("/api/v1/teams/{}", lapsed.id), format!("/api/v1/sites/{}", lapsed_site.id)] {
            let answer = api.get(&path, &full).await;
            assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED, "{path}");
            assert_eq!(answer.body, json!({"message": "An active team subscription is required."}));
        }
        // A stranger learns nothing of that team's plan: 404 comes first.
        assert_eq!(api.get(&format!("/api/v1/teams/{}", lapsed.id), &outsider).await.status, StatusCode::NOT_FOUND);

        // 403: the scope is there, the member's permissions are not.
        let viewer = api.user("viewer@example.com", true).await;
        api.store.add_member(&team.id, &viewer.id, TeamRole::Viewer, None, Utc::now()).await.expect("viewer");
        let viewer_token = api.token(&viewer, ALL).await;
        let answer = api.call("POST", &create, Some(&viewer_token), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(answer.body["message"].as_str().is_some_and(|m| m.contains("createSite")), "{}", answer.body);
        assert_eq!(api.get(&create, &viewer_token).await.status, StatusCode::OK, "a viewer reads");

        // A member whose team took away site creation: sites:write lets them update, not create.
        let member = api.user("member@example.com", true).await;
        let without = TeamRole::Member.default_permissions().without(Permission::CreateSite);
        api.store.add_member(&team.id, &member.id, TeamRole::Member, Some(without), Utc::now()).await.expect("member");
        let member_token = api.token(&member, &[PulseScope::SitesRead, PulseScope::SitesWrite]).await;
        let answer = api.call("POST", &create, Some(&member_token), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        let rename = api
            .call("PATCH", &format!("/api/v1/sites/{}", site.id), Some(&member_token), Some(json!({"name": "Shop"})))
            .await;
        assert_eq!((rename.status, rename.body["data"]["name"].as_str()), (StatusCode::OK, Some("Shop")));

        // Nothing was created by any refused request.
        assert_eq!(api.store.sites_of(&team.id).await.expect("sites").len(), 1);
    }
}

#[tokio::test]
async fn a_token_acts_in_every_team_of_its_user() {
    for api in engines().await {
        let ada = api.user("ada@example.com", true).await;
        let bob = api.user("bob@example.com", true).await;
        let own = api.team(&ada, true, 10).await;
        let bobs = api.team(&bob, true, 10).await;
        api.store.add_member(&bobs.id, &ada.id, TeamRole::Member, None, Utc::now()).await.expect("member");
        let token = api.token(&ada, ALL).await;
        let teams = api.get("/api/v1/teams", &token).await;
        assert_eq!(teams.status, StatusCode::OK);
        let listed: Vec<(&str, &str)> = teams.body["data"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| (t["id"].as_str().expect("id"), t["role"].as_str().expect("role")))
            .collect();
        assert_eq!(listed, [(own.id.as_str(), "owner"), (bobs.id.as_str(), "member")]);
        for team in [&own, &bobs] {
            let created = api
                .call(
                    "POST",
                    &format!("/api/v1/teams/{}/sites", team.id),
                    Some(&token),
                    Some(json!({"name": "docs", "url": "https://docs.example.com"})),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            assert_eq!(created.body["data"]["team_id"], team.id.as_str());
        }
        // Removed from Bob's team, the same token no longer reaches it.
        api.store.remove_member(&bobs.id, &ada.id).await.expect("remove");
        assert_eq!(api.get(&format!("/api/v1/teams/{}/sites", bobs.id), &token).await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/api/v1/teams/{}/sites", own.id), &token).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn teams_sites_check_runs_and_issues_through_the_api() {
    for api in engines().await {
        let ada = api.user("ada@example.com", true).await;
        let team = api.team(&ada, true, 2).await;
        let token = api.token(&ada, ALL).await;
        let t = Some(token.as_str());
        let team_path = format!("/api/v1/teams/{}", team.id);

        let shown = api.get(&team_path, &token).await;
        assert_eq!(shown.body["data"]["plan"], json!({"name": "starter", "max_sites": 2, "min_cadence_seconds": 60}));
        assert_eq!(shown.body["data"]["monitoring"]["cadence_seconds"], 300);
        let defaults = json!({"cadence_seconds": 120, "failure_threshold": 3, "escalation_minutes": 30});
        let updated = api.call("PATCH", &team_path, t, Some(defaults.clone())).await;
        assert_eq!((updated.status, &updated.body["data"]["monitoring"]), (StatusCode::OK, &defaults));
        let invalid = api
            .call(
                "PATCH",
                &team_path,
                t,
                Some(json!({"cadence_seconds": 10, "failure_threshold": 0, "escalation_minutes": "x"})),
            )
            .await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        let errors = invalid.body["errors"].as_object().expect("errors by field");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["cadence_seconds", "escalation_minutes", "failure_threshold"]);
        assert_eq!(
            errors["cadence_seconds"],
            json!(["The cadence_seconds field must be an integer between 60 and 86400."])
        );
        assert!(
            invalid.body["message"].as_str().is_some_and(|m| m.ends_with("(and 2 more errors)")),
            "{}",
            invalid.body
        );
        let unchanged = api.get(&team_path, &token).await;
        assert_eq!(unchanged.body["data"]["monitoring"], defaults, "a refused update changes nothing");

        // Sites.
        let sites = format!("{team_path}/sites");
        let bad = api.call("POST", &sites, t, Some(json!({"name": " ", "url": "ftp://example.com"}))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.body["errors"]["name"], json!(["The name field is required."]));
        assert_eq!(bad.body["errors"]["url"], json!(["The url field must be a valid http or https URL."]));
        let not_json = api.call("POST", &sites, t, None).await;
        assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty body is an empty object");
        let created = api
            .call(
                "POST",
                &sites,
                t,
                Some(json!({"name": "Shop", "url": "https://shop.example.com", "cadence_seconds": 600})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let site = &created.body["data"];
        assert_eq!(
            (site["url"].as_str(), site["cadence_seconds"].as_u64(), site["effective_cadence_seconds"].as_u64()),
            (Some("https://shop.example.com/"), Some(600), Some(600))
        );
        assert_eq!(site["status"], "unknown");
        let site_id = site["id"].as_str().expect("id").to_owned();
        let second =
            api.call("POST", &sites, t, Some(json!({"name": "Blog", "url": "http://blog.example.com/"}))).await;
        assert_eq!(
            (second.status, second.body["data"]["effective_cadence_seconds"].as_u64()),
            (StatusCode::CREATED, Some(120))
        );
        let third =
            api.call("POST", &sites, t, Some(json!({"name": "Wiki", "url": "https://wiki.example.com/"}))).await;
        assert_eq!(third.status, StatusCode::CONFLICT);
        assert_eq!(third.body["message"], "The team's plan allows 2 sites; delete one or change the plan.");
        assert_eq!(api.get(&sites, &token).await.body["data"].as_array().map(Vec::len), Some(2));
        let site_path = format!("/api/v1/sites/{site_id}");
        let paused = api.call("PATCH", &site_path, t, Some(json!({"paused": true, "cadence_seconds": null}))).await;
        assert_eq!(
            (paused.body["data"]["paused"].as_bool(), paused.body["data"]["cadence_seconds"].is_null()),
            (Some(true), true)
        );

        // Check runs.
        let checks = format!("{site_path}/checks");
        let queued = api.call("POST", &checks, t, None).await;
        assert_eq!(queued.status, StatusCode::ACCEPTED);
        assert_eq!(
            (queued.body["data"]["trigger"].as_str(), queued.body["data"]["status"].as_str()),
            (Some("manual"), Some("queued"))
        );
        let again = api.call("POST", &checks, t, None).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let run_id = queued.body["data"]["id"].as_str().expect("id").to_owned();
        let run = api.get(&format!("/api/v1/checks/{run_id}"), &token).await;
        assert_eq!(run.body["data"]["site_id"], site_id.as_str());
        assert_eq!(api.get(&checks, &token).await.body["data"].as_array().map(Vec::len), Some(1));
        let deleted = api.call("DELETE", &format!("/api/v1/checks/{run_id}"), t, None).await;
        assert_eq!((deleted.status, deleted.body.clone()), (StatusCode::NO_CONTENT, Value::Null));
        assert_eq!(api.get(&format!("/api/v1/checks/{run_id}"), &token).await.status, StatusCode::NOT_FOUND);

        // Issues: one failure opens one, at a threshold of one (the other
        // defaults stay as they were).
        let one = api.call("PATCH", &team_path, t, Some(json!({"failure_threshold": 1}))).await;
        assert_eq!(
            one.body["data"]["monitoring"],
            json!({"cadence_seconds": 120, "failure_threshold": 1, "escalation_minutes": 30})
        );
        let site_record = api.store.site(&site_id).await.expect("read").expect("site");
        let (failed_run, issue_id) = api.failed_run(&site_record).await;
        let scheduled_delete = api.call("DELETE", &format!("/api/v1/checks/{failed_run}"), t, None).await;
        assert_eq!(scheduled_delete.status, StatusCode::NO_CONTENT, "a finished manual run");
        let open = api.get(&format!("{team_path}/issues?status=open"), &token).await;
        let listed = open.body["data"].as_array().expect("issues");
        assert!(listed.iter().any(|i| i["id"] == issue_id.as_str() && i["status"] == "open"), "{}", open.body);
        let issue = api.get(&format!("/api/v1/issues/{issue_id}"), &token).await;
        assert_eq!(issue.body["data"]["cause"], "HTTP 503");
        let wrong = api.get(&format!("{team_path}/issues?status=closed"), &token).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);

        let gone = api.call("DELETE", &site_path, t, None).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(api.get(&site_path, &token).await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/api/v1/issues/{issue_id}"), &token).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn every_route_has_a_rule_and_refuses_a_missing_token_before_anything_else() {
    let api = engines().await.remove(0);
    for route in ROUTES {
        let path = route
            .path
            .replace("{team}", "team_x")
            .replace("{site}", "site_x")
            .replace("{check}", "run_x")
            .replace("{issue}", "iss_x");
        let answer = api.call(route.method, &path, None, Some(json!({}))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{} {}", route.method, route.path);
    }
    let unknown = api.call("GET", "/api/v1/nothing", None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body["message"].is_string());
    let method = api.call("PUT", "/api/v1/teams", None, None).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(method.body["message"].is_string());
    let ada = api.user("ada@example.com", true).await;
    let token = api.token(&ada, ALL).await;
    let team = api.team(&ada, true, 1).await;
    let broken = {
        let request = Request::builder()
            .method("POST")
            .uri(format!("/api/v1/teams/{}/sites", team.id))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{not json"))
            .expect("request");
        router(AppState::new(Arc::clone(&api.store), "http://127.0.0.1:8090")).oneshot(request).await.expect("answer")
    };
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
}

/// Every `$ref` in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_api_document_lists_every_route_with_its_scope_and_describes_the_answers() {
    let api = engines().await.remove(0);
    let document = api.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(document.status, StatusCode::OK, "served without a token");
    let doc = document.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operation_ids = Vec::new();
    for route in ROUTES {
        let operation = &doc["paths"][route.path][route.method.to_lowercase()];
        assert_eq!(operation["x-required-scope"], route.rule.scope.as_str(), "{} {}", route.method, route.path);
        assert_eq!(operation["x-team-permission"].as_str(), route.rule.permission.map(|p| p.as_str()));
        assert!(operation["responses"][route.status.to_string()].is_object());
        assert!(operation["responses"]["401"].is_object() && operation["responses"]["403"].is_object());
        if route.path.contains('{') {
            assert_eq!(operation["responses"]["402"]["description"], "An active team subscription is required.");
        }
        operation_ids.push(operation["operationId"].as_str().expect("an operationId").to_owned());
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operationIds are unique");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for target in &found {
        let name = target.strip_prefix("#/components/schemas/").expect("a component");
        assert!(doc["components"]["schemas"][name].is_object(), "{target} resolves");
    }

    // The schemas name exactly the fields the answers carry.
    let ada = api.user("ada@example.com", true).await;
    let team = api.team(&ada, true, 5).await;
    let token = api.token(&ada, ALL).await;
    let site = api.site(&team).await;
    let (run_id, issue_id) = api.failed_run(&site).await;
    for (path, schema) in [
        (format!("/api/v1/teams/{}", team.id), "Team"),
        (format!("/api/v1/sites/{}", site.id), "Site"),
        (format!("/api/v1/checks/{run_id}"), "CheckRun"),
        (format!("/api/v1/issues/{issue_id}"), "Issue"),
    ] {
        let answer = api.get(&path, &token).await;
        let mut fields: Vec<&String> = answer.body["data"].as_object().expect("a record").keys().collect();
        let mut documented: Vec<&String> =
            doc["components"]["schemas"][schema]["properties"].as_object().expect(schema).keys().collect();
        fields.sort();
        documented.sort();
        assert_eq!(fields, documented, "{schema}");
    }
}

#[tokio::test]
async fn the_docs_page_lists_every_scope_and_route() {
    let api = engines().await.remove(0);
    let request = Request::builder().uri("/docs").body(Body::empty()).expect("request");
    let response =
        router(AppState::new(Arc::clone(&api.store), "http://127.0.0.1:8090")).oneshot(request).await.expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let page = String::from_utf8(axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body").to_vec())
        .expect("UTF-8");
    for scope in PulseScope::ALL {
        assert!(page.contains(scope.as_str()) && page.contains(scope.description()), "{scope}");
    }
    for route in ROUTES {
        let heading = format!(">{}</span><code class=\"path\">{}</code>", route.method, route.path);
        assert!(page.contains(&heading), "{} {}", route.method, route.path);
    }
    assert!(page.contains("An active team subscription is required."));
}
