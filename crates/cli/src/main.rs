//! `sitegpt`: the command-line client of the sitegpt API.
//!
//! This build carries the program's frame (`--help`, `--version`); the
//! login, profile and token commands are added on top of it.

use clap::Parser;

/// The sitegpt command-line client.
#[derive(Debug, Parser)]
#[command(name = "sitegpt", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("sitegpt {}: no commands in this build yet; see `sitegpt --help`.", env!("CARGO_PKG_VERSION"));
    std::process::exit(2);
}
