//! Structured logs on stderr: readable text on a terminal, JSON lines
//! elsewhere (`SITEGPT_LOG_FORMAT=json|text` to choose), filtered by
//! `SITEGPT_LOG` (default `info`). Nothing logs a
//! credential: extractors that touch one are instrumented with `skip_all`,
//! and the access log names route templates, never raw paths or headers;
//! MCP tool calls are logged by tool name and outcome, never arguments.

use std::fmt::{self, Write as _};

use chrono::{Datelike, Timelike};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

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
    init_from("SITEGPT_LOG", "SITEGPT_LOG_FORMAT");
}

/// [`init`] for a product whose settings are the variables `level` (the
/// filter) and `format` (`json` or `text`).
pub fn init_from(level: &str, format_var: &str) {
    use std::io::IsTerminal;
    let filter = filter(&std::env::var(level).unwrap_or_else(|_| "info".into()));
    let setting = std::env::var(format_var).ok();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format(setting.as_deref(), std::io::stderr().is_terminal()) {
        Format::Text { ansi } => builder.with_ansi(ansi).try_init(),
        Format::Json => builder.fmt_fields(JsonFields::new()).event_format(JsonLines).try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging is already set up: {e}");
    }
}

/// JSON lines: what `tracing_subscriber`'s JSON format writes with
/// flattened events and the span list (`timestamp`, `level`, the event's
/// fields with `message`, `target`, `spans` inside spans), written straight
/// into the line rather than through `serde`: an access-log line took a
/// third of a `/healthz` request that way. A test holds the two formats to
/// the same output.
#[derive(Debug, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        thread_local! {
            static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        // Built in a buffer of the thread's and written in one piece (the
        // writer behind `Writer` is reached through a trait object). A
        // field whose formatting logs finds the buffer taken and uses its own.
        let mut write = |line: &mut String| {
            line.clear();
            write_line(ctx, event, line)?;
            writer.write_str(line)
        };
        let written = LINE.try_with(|line| line.try_borrow_mut().ok().map(|mut line| write(&mut line)));
        written.ok().flatten().unwrap_or_else(|| write(&mut String::new()))
    }
}

fn write_line<S, N>(ctx: &FmtContext<'_, S, N>, event: &Event<'_>, line: &mut String) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let meta = event.metadata();
    line.push_str("{\"timestamp\":\"");
    write_timestamp(line, chrono::Utc::now())?;
    line.push_str("\",\"level\":\"");
    line.push_str(meta.level().as_str());
    line.push('"');
    let mut fields = JsonVisitor { out: line, result: Ok(()) };
    event.record(&mut fields);
    fields.result?;
    line.push_str(",\"target\":");
    write_string(line, meta.target())?;
    if let Some(scope) = ctx.event_scope() {
        line.push_str(",\"spans\":[");
        for (i, span) in scope.from_root().enumerate() {
            line.push_str(if i == 0 { "{" } else { ",{" });
            let extensions = span.extensions();
            // The span's fields, as `JsonFields` wrote them: an object.
            let recorded = extensions.get::<FormattedFields<N>>().map_or("", |f| f.fields.as_str());
            let inner = recorded.strip_prefix('{').and_then(|f| f.strip_suffix('}')).unwrap_or("");
            if !inner.is_empty() {
                line.push_str(inner);
                line.push(',');
            }
            line.push_str("\"name\":");
            write_string(line, span.name())?;
            line.push('}');
        }
        line.push(']');
    }
    line.push_str("}\n");
    Ok(())
}

/// RFC 3339 in UTC with microseconds, as `tracing_subscriber` writes it.
fn write_timestamp(out: &mut impl fmt::Write, now: chrono::DateTime<chrono::Utc>) -> fmt::Result {
    let year = now.year();
    if !(0..=9999).contains(&year) {
        return write!(out, "{}", now.format("%+"));
    }
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, now.month());
    put(8, 2, now.day());
    put(11, 2, now.hour());
    put(14, 2, now.minute());
    put(17, 2, now.second());
    // A leap second shows as 60 seconds' worth of nanoseconds: keep it below one.
    put(20, 6, (now.nanosecond() % 1_000_000_000) / 1_000);
    out.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

/// `value` as a JSON string, escaped as `serde_json` escapes.
fn write_string(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(value)?;
    out.write_char('"')
}

/// Writes text escaped for the inside of a JSON string.
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = next_escape(bytes, 0);
        while i < bytes.len() {
            let b = bytes[i];
            self.0.write_str(&s[start..i])?;
            match b {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                0x08 => self.0.write_str("\\b")?,
                0x0c => self.0.write_str("\\f")?,
                _ => write!(self.0, "\\u{b:04x}")?,
            }
            start = i + 1;
            i = next_escape(bytes, start);
        }
        self.0.write_str(&s[start..])
    }
}

/// Whether JSON escapes this byte inside a string.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The index of the first byte from `from` on that JSON escapes (the
/// length if none), eight bytes at a time: a byte below 0x20, a quote or
/// a backslash sets its high bit in `found` (the lowest set one is exact).
fn next_escape(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let zero = |y: u64| y.wrapping_sub(ONES) & !y;
        let found = (x.wrapping_sub(ONES * 0x20) & !x | zero(x ^ (ONES * 0x22)) | zero(x ^ (ONES * 0x5c))) & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| escaped(b)).map_or(bytes.len(), |at| i + at)
}

/// Writes each field as `,"name":value`.
struct JsonVisitor<'a, W: fmt::Write> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: fmt::Write> JsonVisitor<'_, W> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = (|| {
                self.out.write_char(',')?;
                write_string(self.out, field.name())?;
                self.out.write_char(':')?;
                value(self.out)
            })();
        }
    }
}

impl<W: fmt::Write> Visit for JsonVisitor<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |out| write_string(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |out| out.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // `serde_json` writes what JSON cannot hold (NaN, infinities) as null.
        self.field(field, |out| match serde_json::Number::from_f64(value) {
            Some(number) => write!(out, "{number}"),
            None => out.write_str("null"),
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
        }
    }

    #[derive(Debug)]
    struct Broken;

    impl std::fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk \"full\"\n\tat\u{1} ü")
        }
    }

    impl std::error::Error for Broken {}

    /// A value that logs while it is being written: no panic, no tangle.
    struct Chatty;

    impl std::fmt::Debug for Chatty {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            tracing::info!(inner = 1, "logged while a field was written");
            f.write_str("chatty")
        }
    }

    /// Every kind of field, escapes, spans with and without fields, nested.
    fn events() {
        tracing::info!(value = ?Chatty, "outer");
        tracing::info!(
            target: "sitegpt::access",
            request_id = %"req_0123",
            method = %axum::http::Method::GET,
            route = "/api/v2/chatbots/{chatbotId}",
            status = 200u16,
            elapsed_us = 1234u64,
            "request"
        );
        tracing::warn!(
            count = -3i64,
            big = u128::MAX,
            small = i128::MIN,
            ok = true,
            no = false,
            "could not {}",
            "record"
        );
        tracing::error!(ratio = 1.5f64, nan = f64::NAN, inf = f64::INFINITY, whole = 2.0f64, tiny = 1e-300f64);
        tracing::info!(error = &Broken as &dyn std::error::Error, shown = %Broken, debugged = ?Broken, "quote \" and \\");
        tracing::info!(text = "\u{7f}\u{0}\u{1f}\u{8}\u{c}\r/é😀", "");
        let outer = tracing::info_span!("outer", id = 7, name = "a \"b\"");
        let _outer = outer.enter();
        tracing::info!("in one span");
        let inner = tracing::info_span!("inner");
        let _inner = inner.enter();
        inner.record("late", 1);
        tracing::warn!(n = 1, "in two spans");
    }

    #[test]
    fn json_lines_are_what_the_json_format_writes() {
        let (ours, theirs) = (Lines::default(), Lines::default());
        let before = chrono::Utc::now();
        tracing::subscriber::with_default(
            tracing_subscriber::fmt()
                .with_writer(ours.clone())
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines)
                .finish(),
            events,
        );
        let after = chrono::Utc::now();
        tracing::subscriber::with_default(
            tracing_subscriber::fmt()
                .with_writer(theirs.clone())
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish(),
            events,
        );
        let (ours, theirs) = (ours.text(), theirs.text());
        // (`Chatty`'s own event is not dispatched: `tracing` drops events
        // raised while one is being handled.)
        assert_eq!(ours.lines().count(), 8, "{ours}");
        assert_eq!(ours.lines().count(), theirs.lines().count());
        for (our, their) in ours.lines().zip(theirs.lines()) {
            let mut our: serde_json::Value = serde_json::from_str(our).expect("our line is JSON");
            let mut their: serde_json::Value = serde_json::from_str(their).expect("JSON");
            let stamp = our["timestamp"].take();
            let stamp = stamp.as_str().expect("a timestamp");
            assert_eq!(stamp.len(), their["timestamp"].take().as_str().expect("their timestamp").len(), "{stamp}");
            let at = chrono::DateTime::parse_from_rfc3339(stamp).expect("RFC 3339");
            assert!(before <= at && at <= after, "{stamp}");
            assert_eq!(our, their);
        }
        // Byte for byte, but for the time.
        let untimed = |text: &str| {
            text.lines().map(|line| line[line.find("\"level\"").expect("level")..].to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(untimed(&ours), untimed(&theirs));
    }

    #[test]
    fn the_escape_scan_finds_the_first_byte_json_escapes() {
        let slow = |bytes: &[u8], from: usize| {
            bytes[from..].iter().position(|&b| escaped(b)).map_or(bytes.len(), |i| from + i)
        };
        // Every byte value at every position of a 19-byte text, among
        // bytes that need no escaping (0x1f..0x23 and 0x5b..0x5d border them).
        for special in 0..=255u8 {
            for at in 0..19 {
                for filler in [b'a', 0x7f, 0x80, 0xff, 0x21, 0x23, 0x5b, 0x5d, 0x20] {
                    let mut bytes = [filler; 19];
                    bytes[at] = special;
                    for from in [0, 1, at.min(18), 18] {
                        assert_eq!(next_escape(&bytes, from), slow(&bytes, from), "{special:#x} at {at} from {from}");
                    }
                }
            }
        }
        let mut text = String::new();
        Escaped(&mut text).write_str("a\"b\\c\u{1}\u{1f}\u{7f}é\n\r\t\u{8}\u{c} end").expect("written");
        assert_eq!(
            text,
            serde_json::to_string("a\"b\\c\u{1}\u{1f}\u{7f}é\n\r\t\u{8}\u{c} end").expect("JSON").trim_matches('"')
        );
    }

    #[test]
    fn timestamps_have_microseconds_and_four_digit_years() {
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).expect("time").to_utc();
        for (time, expected) in [
            ("2026-12-04T07:19:17.123456789Z", "2026-12-04T07:19:17.123456Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ] {
            let mut text = String::new();
            write_timestamp(&mut text, at(time)).expect("written");
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn text_on_terminals_json_elsewhere_and_the_setting_wins() {
        assert_eq!(format(None, true), Format::Text { ansi: true });
        assert_eq!(format(None, false), Format::Json);
        assert_eq!(format(Some("json"), true), Format::Json);
        assert_eq!(format(Some("TEXT"), false), Format::Text { ansi: false });
        assert_eq!(format(Some("text"), true), Format::Text { ansi: true });
    }
}
