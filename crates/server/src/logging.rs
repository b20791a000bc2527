//! Structured logs on stderr: readable text on a terminal, JSON lines
//! elsewhere (`SITEGPT_LOG_FORMAT=json|text` to choose), filtered by
//! `SITEGPT_LOG` (default `info`). Nothing logs a
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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// For people; `ansi` colours only on a terminal.
    Text {
        ansi: bool,
    },
}

/// `SITEGPT_LOG_FORMAT` (`json` or `text`) decides; without it, text on a
/// terminal and JSON lines everywhere else (files, pipes, log collectors).
pub fn format(setting: Option<&str>, terminal: bool) -> Format {
    match setting.map(str::to_ascii_lowercase).as_deref() {
        Some("json") => Format::Json,
        Some("text") => Format::Text { ansi: terminal },
        _ if terminal => Format::Text { ansi: true },
        _ => Format::Json,
    }
}

pub fn init() {
    use std::io::IsTerminal;
    let filter = filter(&std::env::var("SITEGPT_LOG").unwrap_or_else(|_| "info".into()));
    let setting = std::env::var("SITEGPT_LOG_FORMAT").ok();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format(setting.as_deref(), std::io::stderr().is_terminal()) {
        Format::Text { ansi } => builder.with_ansi(ansi).try_init(),
        Format::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging is already set up: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_terminals_json_elsewhere_and_the_setting_wins() {
        assert_eq!(format(None, true), Format::Text { ansi: true });
        assert_eq!(format(None, false), Format::Json);
        assert_eq!(format(Some("json"), true), Format::Json);
        assert_eq!(format(Some("TEXT"), false), Format::Text { ansi: false });
        assert_eq!(format(Some("text"), true), Format::Text { ansi: true });
    }
}
