//! Human output (aligned tables, relative times, colour when it helps) and
//! machine output (`--json`: the API's `data` object on stdout, errors as
//! JSON on stderr).

use std::io::IsTerminal;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::CliError;
use crate::jq::Filter;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub color: bool,
    /// `--jq`: applied to every JSON output (and implying `--json`).
    pub jq: Option<&'static Filter>,
}

impl Output {
    pub fn new(json: bool, jq: Option<&'static Filter>) -> Output {
        let json = json || jq.is_some();
        let color =
            !json && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal();
        Output { json, color, jq }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Prints a value as pretty JSON on stdout, or what `--jq` makes of it.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        match self.jq {
            None => println!("{}", serde_json::to_string_pretty(value).expect("serializable")),
            Some(filter) => {
                for line in filter.run(&serde_json::to_value(value).expect("serializable"))? {
                    println!("{line}");
                }
            }
        }
        Ok(())
    }

    /// Reports an error on stderr: a line for people, or JSON under `--json`.
    pub fn error(&self, error: &CliError) {
        if self.json {
            let body = serde_json::json!({
                "ok": false,
                "error": {"code": error.code(), "message": error.to_string(), "details": error.details()},
                "exitCode": error.exit_code(),
            });
            eprintln!("{}", serde_json::to_string_pretty(&body).expect("serializable"));
        } else {
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal();
            let label = if color { "\x1b[31merror\x1b[0m" } else { "error" };
            eprintln!("{label}: {error}");
        }
    }
}

/// Prints rows under headers, each column as wide as its widest cell.
pub fn table(out: &Output, headers: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| rows.iter().map(|r| visible_width(&r[i])).chain([headers[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - visible_width(cell);
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_owned()
    };
    println!("{}", line(headers.iter().map(|h| out.bold(h)).collect()));
    for row in rows {
        println!("{}", line(row.clone()));
    }
}

/// Width without ANSI colour codes.
fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// "in 89 days", "3 minutes ago", "just now".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_seconds();
    let magnitude = seconds.unsigned_abs();
    let (amount, unit) = match magnitude {
        0..=59 => return "just now".into(),
        60..=3_599 => (magnitude / 60, "minute"),
        3_600..=86_399 => (magnitude / 3_600, "hour"),
        // Days to the nearest: a 7-day token made a moment ago expires "in 7 days".
        _ => ((magnitude + 43_200) / 86_400, "day"),
    };
    let unit = if amount == 1 { unit.to_owned() } else { format!("{unit}s") };
    if seconds > 0 { format!("in {amount} {unit}") } else { format!("{amount} {unit} ago") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative(now + Duration::days(89) + Duration::hours(1), now), "in 89 days");
        assert_eq!(relative(now - Duration::minutes(3), now), "3 minutes ago");
        assert_eq!(relative(now + Duration::hours(1) + Duration::seconds(5), now), "in 1 hour");
        assert_eq!(relative(now + Duration::seconds(10), now), "just now");
        assert_eq!(relative(now - Duration::days(1) - Duration::seconds(5), now), "1 day ago");
        assert_eq!(relative(now + Duration::days(7) - Duration::seconds(3), now), "in 7 days");
    }

    #[test]
    fn colour_codes_do_not_count_towards_width() {
        assert_eq!(visible_width("\x1b[1mname\x1b[0m"), 4);
        assert_eq!(visible_width("plain"), 5);
    }
}
