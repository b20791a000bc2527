//! Structured logs on stderr: JSON lines by default (`SITEGPT_LOG_FORMAT=text`
//! for people), filtered by `SITEGPT_LOG` (default `info`). Nothing logs a
//! credential: extractors that touch one are instrumented with `skip_all`,
//! and the access log names route templates, never raw paths or headers.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("SITEGPT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("SITEGPT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result =
        if text { builder.try_init() } else { builder.json().flatten_event(true).with_current_span(false).try_init() };
    if let Err(e) = result {
        eprintln!("logging is already set up: {e}");
    }
}
