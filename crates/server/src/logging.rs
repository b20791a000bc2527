//! Structured logs on stderr: JSON lines by default (`SITEGPT_LOG_FORMAT=text`
//! for people), filtered by `SITEGPT_LOG` (default `info`). Nothing logs a
//! credential: extractors that touch one are instrumented with `skip_all`,
//! and the access log names route templates, never raw paths or headers;
//! MCP tool calls are logged by tool name and outcome, never arguments.

use tracing_subscriber::EnvFilter;

/// The filter `spec` describes, with the MCP SDK held to warnings whatever
/// it says: the SDK's debug and trace events print whole JSON-RPC messages,
/// tool arguments included.
pub fn filter(spec: &str) -> EnvFilter {
    let quiet = "rmcp=warn".parse().expect("a valid directive");
    EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info")).add_directive(quiet)
}

pub fn init() {
    let filter = filter(&std::env::var("SITEGPT_LOG").unwrap_or_else(|_| "info".into()));
    let text = std::env::var("SITEGPT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result =
        if text { builder.try_init() } else { builder.json().flatten_event(true).with_current_span(false).try_init() };
    if let Err(e) = result {
        eprintln!("logging is already set up: {e}");
    }
}
