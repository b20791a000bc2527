//! The page frame and shared pieces, in maud.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use sitegpt_access::{AccessLevel, Role, Scope, ScopeResource, ScopeSet};
use sitegpt_store::User;

/// What the header needs to show a signed-in user.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub user: &'a User,
    pub csrf: &'a str,
    /// The dashboard section the page belongs to (one of [`SECTIONS`]' paths).
    pub here: &'a str,
}

impl<'a> Viewer<'a> {
    /// The page belongs to the dashboard section at `path`.
    pub fn at(self, path: &'a str) -> Viewer<'a> {
        Viewer { here: path, ..self }
    }
}

/// The dashboard's sections, in the header's order.
pub const SECTIONS: [(&str, &str); 8] = [
    ("/dashboard/agents", "Agents"),
    ("/dashboard/chatbots", "Chatbots"),
    ("/dashboard/members", "Members"),
    ("/dashboard/apps", "Connected apps"),
    ("/dashboard/mcp", "AI clients"),
    ("/device", "Connect a device"),
    ("/dashboard/security", "Security log"),
    ("/dashboard/settings", "Settings"),
];

/// What the page frame shows around a page, for any product: its name,
/// its sections, the signed-in person, a notice above the page, and the
/// footer's links. The stylesheet, script and icon are the engine's
/// (`/assets/…`), which every product serves.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The product's name, in the title and the header.
    pub product: &'a str,
    /// The sections in the header, as (path, label).
    pub sections: &'a [(&'a str, &'a str)],
    /// The path of the section the page belongs to.
    pub here: &'a str,
    /// The signed-in person's e-mail address and CSRF token (for sign-out).
    pub account: Option<(&'a str, &'a str)>,
    /// Footer links, as (path, label).
    pub footer: &'a [(&'a str, &'a str)],
}

/// The page frame: header with the product, its sections and sign-out,
/// `notice` (if any) above `body`, and the footer.
pub fn frame(f: Frame<'_>, title: &str, notice: Option<Markup>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · " (f.product) }
                link rel="stylesheet" href="/assets/app.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" {
                        span.logo aria-hidden="true" { (f.product.chars().next().unwrap_or('·')) }
                        span { (f.product) }
                    }
                    @if let Some((email, csrf)) = f.account {
                        nav.app aria-label="Dashboard" {
                            @for (path, label) in f.sections {
                                a href=(path) aria-current=[(f.here == *path).then_some("page")] { (label) }
                            }
                        }
                        nav.account aria-label="Account" {
                            span.who { (email) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main {
                    @if let Some(notice) = notice { (notice) }
                    (body)
                }
                footer.bottom {
                    @for (i, (path, label)) in f.footer.iter().enumerate() {
                        @if i > 0 { " · " }
                        a href=(path) { (label) }
                    }
                }
            }
        }
    }
}

/// SiteGPT's frame: its dashboard sections, and a reminder to verify the
/// e-mail address while it is not.
pub fn page(title: &str, viewer: Option<Viewer<'_>>, body: Markup) -> Markup {
    let f = Frame {
        product: "SiteGPT",
        sections: &SECTIONS,
        here: viewer.map_or("", |v| v.here),
        account: viewer.map(|v| (v.user.email.as_str(), v.csrf)),
        footer: &[("/docs", "API reference")],
    };
    let notice = viewer.filter(|v| v.user.email_verified_at.is_none()).map(|viewer| {
        html! {
            div.warning.unverified role="status" {
                span { "Verify your e-mail address " strong { (viewer.user.email) } ": until you open the link we sent, your tokens do not work and you cannot approve devices or apps." }
                form method="post" action="/verify-email/resend" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button.link type="submit" { "Send a new link" }
                }
            }
        }
    });
    frame(f, title, notice, body)
}

/// A page with a heading and one paragraph.
pub fn message_page(title: &str, message: &str, viewer: Option<Viewer<'_>>) -> maud::Markup {
    page(
        title,
        viewer,
        html! {
            section.card {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Go to the start page" } }
            }
        },
    )
}

/// A form input with its visible label, an optional hint, and its error.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub label: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub autocomplete: &'a str,
    pub hint: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub fn field(f: Field<'_>) -> Markup {
    let id = format!("field-{}", f.name);
    let described: Vec<String> =
        [f.hint.map(|_| format!("{id}-hint")), f.error.map(|_| format!("{id}-error"))].into_iter().flatten().collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        div.field {
            label for=(id) { (f.label) }
            input id=(id) name=(f.name) type=(f.kind) value=(f.value) autocomplete=(f.autocomplete)
                aria-invalid=[f.error.map(|_| "true")] aria-describedby=[described];
            @if let Some(hint) = f.hint { p.hint id={ (id) "-hint" } { (hint) } }
            @if let Some(error) = f.error { p.error id={ (id) "-error" } role="alert" { (error) } }
        }
    }
}

/// A banner for a form-level error.
pub fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            div.alert role="alert" { (message) }
        }
    }
}

/// Inline SVG favicon, so the site needs no binary assets.
pub const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/><text x="16" y="22" font-family="system-ui,sans-serif" font-size="18" font-weight="700" text-anchor="middle" fill="#fff">S</text></svg>"##;

/// Marks text as already-escaped HTML (used only for constant snippets).
pub fn raw(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}

/// The team a form acts in: a choice when the person has several, else a
/// hidden field. Posted as `account_id`.
pub fn team_choice(label: &str, accounts: &[(sitegpt_store::Account, sitegpt_access::Role)], selected: &str) -> Markup {
    html! {
        @if accounts.len() > 1 {
            div.field {
                label for="account_id" { (label) }
                select id="account_id" name="account_id" {
                    @for (account, role) in accounts {
                        option value=(account.id) selected[account.id == selected] { (account.name) " (" (role) ")" }
                    }
                }
            }
        } @else {
            input type="hidden" name="account_id" value=(selected);
        }
    }
}

/// Scopes grouped by resource, in catalog order.
pub fn grouped(scopes: ScopeSet) -> BTreeMap<ScopeResource, Vec<Scope>> {
    let mut groups: BTreeMap<ScopeResource, Vec<Scope>> = BTreeMap::new();
    for scope in scopes.iter() {
        groups.entry(scope.resource()).or_default().push(scope);
    }
    groups
}

/// Every scope of `scopes`, by resource, each with what it allows and its
/// name; `refused` marks those a role cannot grant. Labelled by the heading
/// with id `labelled_by`.
pub fn scope_list(scopes: ScopeSet, refused: Option<(ScopeSet, Role)>, labelled_by: &str) -> Markup {
    html! {
        ul.scopes aria-labelledby=(labelled_by) {
            @for (resource, scopes) in grouped(scopes) {
                li {
                    span.resource { (resource.label()) }
                    ul {
                        @for scope in scopes {
                            @match refused.filter(|(refused, _)| refused.contains(scope)) {
                                Some((_, role)) => li.refused { (scope.description()) " (" code { (scope) } ") — your role (" (role) ") cannot grant this" },
                                None => li { (scope.description()) " (" code { (scope) } ")" },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A read-only value with a Copy button (the script shows the button where
/// the clipboard can be written); `label` names both for screen readers.
pub fn copyable(id: &str, value: &str, label: &str) -> Markup {
    html! {
        div.copy-row {
            input.copy-value id=(id) type="text" readonly value=(value) aria-label=(label) autocomplete="off" spellcheck="false";
            button.copy type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

/// One line that says what `scopes` allow: the access level's sentence, or
/// for a custom set how many scopes over which resources.
pub fn access_summary(scopes: ScopeSet) -> String {
    if scopes == AccessLevel::Full.scopes() {
        return "Full access: every scope, including creating tokens, billing and integrations.".to_owned();
    }
    if scopes == AccessLevel::Standard.scopes() {
        return "Standard access: everything except creating tokens, changing billing and changing integrations."
            .to_owned();
    }
    let groups = grouped(scopes);
    let n = scopes.iter().count();
    let resources: Vec<&str> = groups.keys().map(|r| r.label()).collect();
    let over = match resources.as_slice() {
        [] => String::new(),
        [one] => format!(" on {one}"),
        [init @ .., last] => format!(" on {} and {last}", init.join(", ")),
    };
    let writes = scopes.iter().any(|s| !s.as_str().ends_with(":read"));
    let kind = if writes { "" } else { ", read only" };
    format!("Custom access: {n} scope{}{over}{kind}.", if n == 1 { "" } else { "s" })
}

/// "Standard", "Full" or "Custom · N scopes", with the scopes in a tooltip.
pub fn describe_access(token: &sitegpt_store::TokenRecord) -> Markup {
    let scopes = token.scopes.to_space_separated();
    let label = if token.scopes == AccessLevel::Full.scopes() {
        "Full access".to_owned()
    } else if token.scopes == AccessLevel::Standard.scopes() {
        "Standard access".to_owned()
    } else {
        let n = scopes.split(' ').count();
        format!("Custom · {n} scope{}", if n == 1 { "" } else { "s" })
    };
    html! { span title=(scopes) { (label) } }
}

/// "All chatbots", or the names of the chatbots a token is limited to
/// (the id of one that is gone), from `(id, name)` pairs.
pub fn chatbot_names<'a>(
    token: &sitegpt_store::TokenRecord,
    chatbots: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> String {
    if !token.chatbots.is_restricted() {
        return "All chatbots".to_owned();
    }
    let names: Vec<&str> = token
        .chatbots
        .ids()
        .iter()
        .map(|id| chatbots.clone().find(|(bot, _)| bot == id).map_or(id.as_str(), |(_, name)| name))
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_say_the_level_or_what_a_custom_set_covers() {
        assert!(access_summary(AccessLevel::Standard.scopes()).starts_with("Standard access: everything except"));
        assert!(access_summary(AccessLevel::Full.scopes()).starts_with("Full access"));
        let read: ScopeSet = [Scope::KnowledgeRead, Scope::ChatbotsRead].into_iter().collect();
        assert_eq!(access_summary(read), "Custom access: 2 scopes on Chatbots and Knowledge, read only.");
        let one: ScopeSet = [Scope::ConversationsDelete].into_iter().collect();
        assert_eq!(access_summary(one), "Custom access: 1 scope on Conversations.");
    }
}
