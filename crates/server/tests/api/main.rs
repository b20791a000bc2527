//! API tests against the real router on a temporary SQLite file, and (in
//! `binary`) against the real `sitegpt-server` binary.

mod account;
mod account_pages;
mod addresses;
mod agents;
mod audit;
mod authorization_code;
mod bad_input;
mod binary;
mod chatbots;
mod client_documents;
mod connections;
mod conversations;
mod dashboard_members;
mod dashboard_pages;
mod dashboard_tokens;
mod durability;
mod helpers;
mod items;
mod matrix;
mod mcp;
mod mcp_client;
mod nodes;
mod notices;
mod oauth;
mod oauth_client;
mod openapi;
mod secret_scanning;
mod smtp;
mod team;
mod tokens;
mod v0;
mod web;
