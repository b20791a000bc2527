//! SitePulse v1: website monitoring on the sitegpt engine. Its personal
//! access tokens, scopes and decision order are in `sitegpt_access::sitepulse`,
//! its storage in `sitegpt_store::pulse`; this crate holds what only it
//! does.
//!
//! - [`api`]: API v1, its routes and their rules, the JSON it answers.
//! - [`mcp`]: the MCP endpoint, its tools generated from the route table.
//! - [`check`]: one check of a URL (timeout, redirects, status, latency,
//!   TLS certificate expiry), refusing loopback and private addresses unless
//!   the operator allows them.
//! - [`server`] and [`admin`]: `sitepulse-server serve` and its operator
//!   commands.
//! - [`web`]: the dashboard's sign-in and Settings → API tokens pages.
//! - [`runner`]: claims due and queued runs from the store and records
//!   what each check found.

pub mod admin;
pub mod api;
pub mod check;
pub mod consent;
pub mod frame;
pub mod mcp;
pub mod oauth;
pub mod runner;
pub mod server;
pub mod web;
