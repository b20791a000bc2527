//! SitePulse's pages in the engine's page frame (`sitegpt_server::web::
//! layout::frame`, with its stylesheet, script and icon): SitePulse's name,
//! its sections, the signed-in person, and the footer.

use maud::{Markup, html};
use sitegpt_server::web::layout::{self, Frame};

/// SitePulse's sections in the header.
pub const SECTIONS: [(&str, &str); 2] = [("/settings/tokens", "API tokens"), ("/settings/mcp", "MCP")];

/// Who is signed in: e-mail address, CSRF token (for sign-out), and whether
/// the address is verified.
pub type Account<'a> = (&'a str, &'a str, bool);

/// A page of the section at `here` (or none: ""), with a reminder while the
/// person's address is not verified; `body` goes into the frame as it is.
pub fn page(here: &str, title: &str, account: Option<Account<'_>>, body: Markup) -> Markup {
    let f = Frame {
        product: "SitePulse",
        sections: &SECTIONS,
        here,
        account: account.map(|(email, csrf, _)| (email, csrf)),
        footer: &[("/docs", "API reference"), ("/api/v1/openapi.json", "OpenAPI document")],
    };
    let notice = account.filter(|(_, _, verified)| !verified).map(|_| {
        html! {
            div.warning.unverified role="status" {
                span { "Your e-mail address is not verified: the API and the MCP server refuse your tokens (401) until it is." }
            }
        }
    });
    layout::frame(f, title, notice, body)
}
