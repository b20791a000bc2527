//! `GET /docs`: API v1's reference for people, from the same route table
//! and scope catalog as the API document.

use maud::{Markup, html};
use sitegpt_access::sitepulse::{PRESETS, PulseScope};

use super::openapi::errors;
use super::routes::ROUTES;

pub async fn page() -> axum::response::Response {
    sitegpt_server::web::html(axum::http::StatusCode::OK, reference())
}

fn reference() -> Markup {
    let body = html! {
                section.card.wide.docs {
                    h1 { "SitePulse API v1" }
                    p.lead {
                        "Send a personal access token on every request: "
                        code { "Authorization: Bearer spat_…" } " and " code { "Accept: application/json" }
                        " (and " code { "Content-Type: application/json" } " with a body). Tokens expire six months \
                        after they are created; an expired or revoked token gets 401. The machine-readable document is "
                        a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } "."
                    }
                    h2 { "Scopes" }
                    div.table-wrap {
                        table.tokens {
                            thead { tr { th scope="col" { "Scope" } th scope="col" { "Description" } } }
                            tbody {
                                @for scope in PulseScope::ALL {
                                    tr { th scope="row" { code { (scope.as_str()) } } td data-label="Description" { (scope.description()) } }
                                }
                            }
                        }
                    }
                    h2 { "Scope combinations" }
                    ul.params {
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
                        article.op {
                            h3 {
                                span.method.{ "m-" (route.method.to_lowercase()) } { (route.method) }
                                code.path { (route.path) }
                            }
                            p { (route.summary) "." }
                            dl.facts.op-facts {
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
    };
    crate::frame::page("", "API v1 reference", None, body)
}
