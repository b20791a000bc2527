//! `sitepulse-server`: `serve`, and the `admin` commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sitepulse::admin::{self, AdminArgs};
use sitepulse::server::{self, Settings};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SitePulse v1: website monitoring with an API for personal access tokens,
/// on an embedded SQLite file (or PostgreSQL for many nodes).
#[derive(Debug, Parser)]
#[command(
    name = "sitepulse-server",
    version,
    after_help = "Examples:\n  sitepulse-server serve\n  \
        sitepulse-server admin create-user --email ada@example.com --password 'long secret' --verified\n  \
        sitepulse-server admin create-team --owner-email ada@example.com --name Ops\n  \
        sitepulse-server admin create-token --email ada@example.com --name 'CI Pipeline' --scope sites:read --scope checks:read\n  \
        SITEPULSE_DATABASE_URL=postgres://… SITEPULSE_NODE=node-2 sitepulse-server serve"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server and this node's checks (migrations run first).
    Serve,
    /// Operator commands; each prints one JSON object.
    Admin(AdminArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => {
            sitegpt_server::logging::init_from("SITEPULSE_LOG", "SITEPULSE_LOG_FORMAT");
            match server::serve(&cli.settings).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "the server stopped");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin(args) => match admin::run(&cli.settings, args).await {
            Ok(output) => {
                println!("{output}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
