//! `sitegpt-server`: `serve`, and the `admin` commands.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sitegpt_server::admin::{self, AdminArgs};
use sitegpt_server::app::{Application, shutdown_signal};
use sitegpt_server::config::Settings;
use sitegpt_server::logging;

/// mimalloc: a request allocates and frees a few dozen small blocks across
/// threads, where glibc's allocator spent a tenth of the server's time
/// (measured side by side: 3 % more requests a second on `/healthz` and on
/// authenticated reads, `bench/versions.sh`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The sitegpt API server: scoped API tokens for API v2, on an embedded SQLite file.
#[derive(Debug, Parser)]
#[command(
    name = "sitegpt-server",
    version,
    after_help = "Examples:\n  sitegpt-server serve\n  SITEGPT_LISTEN=0.0.0.0:8080 SITEGPT_PUBLIC_URL=https://api.example.com sitegpt-server serve\n  \
        sitegpt-server admin create-user --email ada@example.com --password 'long secret' --verified\n  \
        sitegpt-server admin create-token --email ada@example.com --name laptop --scope account:read"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (migrations run first).
    Serve,
    /// Operator commands; each prints one JSON object.
    Admin(AdminArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => {
            logging::init();
            match serve(&cli.settings).await {
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

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    // Signals are handled from here on, before anyone is told we listen.
    let shutdown = shutdown_signal();
    let addr = app.local_addr();
    let state = app.state().clone();
    tracing::info!(
        listen = %addr,
        public_url = %state.public_url,
        store = state.store.engine(),
        version = env!("CARGO_PKG_VERSION"),
        "sitegpt-server is listening"
    );
    if state.store.count_users().await? == 0 {
        let public = &state.public_url;
        let hint = format!(
            "No accounts yet. Create the first one in a browser:\n\n    {public}/signup\n\n\
             or from a terminal (with the same data folder):\n\n    \
             sitegpt-server admin create-user --email you@example.com --password '<password>' --verified\n    \
             sitegpt-server admin create-token --email you@example.com --name first --scope account:read --scope tokens:read --scope tokens:write\n\n\
             then: curl -H 'Authorization: Bearer <plaintextToken>' {public}/api/v2/account\n"
        );
        if std::io::stderr().is_terminal() {
            eprintln!("\n{hint}");
        } else {
            tracing::info!(hint, signup = format!("{public}/signup"), "no users yet");
        }
    }
    app.run(shutdown).await
}
