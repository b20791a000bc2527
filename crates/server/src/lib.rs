//! The sitegpt server: the HTTP edge (API v2), the verification cache, the
//! admin commands, and start-up. Only this crate knows HTTP.
//!
//! - [`config`]: settings from flags and `SITEGPT_*` variables.
//! - [`app`]: building and running the server as a value ([`app::Application`]).
//! - [`serve`]: the listener, with timeouts for slow clients and a connection cap.
//! - [`router`]: the one route table; every API route declares its scope there.
//! - [`auth`]: the bearer-token extractor and the verification cache.
//! - [`error`]: the one error type of the API and its JSON envelope.
//! - [`request`]: request ids, the access log, and deferred body parsing.
//! - [`routes`]: handlers, one module per resource.
//! - [`web`]: server-rendered pages (sign-up, sign-in, device approval).
//! - [`mail`]: verification mail over SMTP or to the outbox folder.
//! - [`mcp`]: the remote MCP server, its tools generated from the route table.
//! - [`admin`]: the `sitegpt-server admin …` commands.

pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod clock;
pub mod config;
pub mod conn;
pub mod context;
pub mod cors;
pub mod error;
pub mod issue;
pub mod logging;
pub mod mail;
pub mod mcp;
pub mod notices;
pub mod openapi;
pub mod poll_memo;
pub mod ratelimit;
pub mod request;
pub mod router;
pub mod routes;
pub mod rules;
pub mod scanning_keys;
pub mod secret;
pub mod serve;
pub mod state;
pub mod verify;
pub mod web;
