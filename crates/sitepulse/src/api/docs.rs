//! `GET /docs`: API v1's reference for people, from the same route table
//! and scope catalog as the API document.

use maud::{DOCTYPE, Markup, html};
use sitegpt_access::sitepulse::{PRESETS, PulseScope};

use super::openapi::errors;
use super::routes::ROUTES;

pub async fn page() -> axum::response::Html<String> {
    axum::response::Html(reference().into_string())
}

fn reference() -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "SitePulse API v1" }
                style { (STYLE) }
            }
            body {
                main {
                    h1 { "SitePulse API v1" }
                    p {
                        "Send a personal access token on every request: "
                        code { "Authorization: Bearer spat_…" } " and " code { "Accept: application/json" }
                        " (and " code { "Content-Type: application/json" } " with a body). Tokens expire six months \
                        after they are created; an expired or revoked token gets 401. The machine-readable document is "
                        a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } "."
                    }
                    h2 { "Scopes" }
                    table {
                        thead { tr { th { "Scope" } th { "Description" } } }
                        tbody {
                            @for scope in PulseScope::ALL {
                                tr { td { code { (scope.as_str()) } } td { (scope.description()) } }
                            }
                        }
                    }
                    h2 { "Scope combinations" }
                    ul {
                        @for preset in PRESETS {
                            li {
                                (preset.name) ": "
                                @for (i, scope) in preset.scopes.iter().enumerate() {
                                    @if i > 0 { " " }
                                    code { (scope.as_str()) }
                                }
                            }
                        }
                    }
                    h2 { "Routes" }
                    p {
                        "Checks run in this order; the first that fails is the answer: 401 (token, verified e-mail), \
                        403 (scope), 404 (you are not in the team the route names or implies), 402 "
                        code { "{\"message\": \"An active team subscription is required.\"}" }
                        ", 403 (your team permissions), then the body (400, 422)."
                    }
                    @for route in ROUTES {
                        section.route {
                            h3 { code { (route.method) " " (route.path) } }
                            p { (route.summary) "." }
                            dl {
                                dt { "Scope" } dd { code { (route.rule.scope.as_str()) } }
                                dt { "Team permission" }
                                dd { @if let Some(p) = route.rule.permission { code { (p.as_str()) } } @else { "none (reading)" } }
                                dt { "Answers" }
                                dd {
                                    (route.status)
                                    @for (status, _) in errors(route) { ", " (status) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2329}\
main{max-width:60rem;margin:0 auto;padding:1rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #dde1e5;vertical-align:top}\
code{font-size:.9em;overflow-wrap:anywhere}td code,dd code,li code{white-space:nowrap}\
.route{border-bottom:1px solid #dde1e5;padding:.25rem 0 .75rem}.route h3{font-size:1rem;margin:.75rem 0 .25rem}\
.route p{margin:.25rem 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.25rem 0}\
dt{color:#5b6670}dd{margin:0}";
