//! The real `sitegpt` binary against the real `sitegpt-server` binary on an
//! ephemeral port, each test with its own data and config folders.

mod api;
mod auth;
mod commands;
mod device;
mod fixture;
mod profiles;
mod resources;
mod team;
