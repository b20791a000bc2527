//! Structured logs on stderr: readable text on a terminal, JSON lines
//! elsewhere (`SITEGPT_LOG_FORMAT=json|text` to choose), filtered by
//! `SITEGPT_LOG` (default `info`). Nothing logs a
//! credential: extractors that touch one are instrumented with `skip_all`,
//! and the access log names route templates, never raw paths or headers;
//! MCP tool calls are logged by tool name and outcome, never arguments.
//! Lines are written off the request's thread, in order, none dropped.

use std::io::Write as _;

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

/// Sets up logging; the lines are written by a thread of their own
/// ([`LineWriter`]), so a request never waits on stderr. Keep the returned
/// guard until the process ends: dropping it writes what is left.
pub fn init() -> Flush {
    use std::io::IsTerminal;
    let filter = filter(&std::env::var("SITEGPT_LOG").unwrap_or_else(|_| "info".into()));
    let setting = std::env::var("SITEGPT_LOG_FORMAT").ok();
    let (writer, flush) = LineWriter::to(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let result = match format(setting.as_deref(), std::io::stderr().is_terminal()) {
        Format::Text { ansi } => builder.with_ansi(ansi).try_init(),
        Format::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging is already set up: {e}");
    }
    flush
}

/// Lines waiting for the log thread at most; past that, logging waits
/// (a line is never dropped).
const QUEUED_LINES: usize = 65_536;

/// How long the log thread lets lines gather while they keep coming.
const BATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

/// What the log thread is sent: a line to write, or a request to report
/// once everything before it is written.
#[derive(Debug)]
enum Message {
    Line(Vec<u8>),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Hands each formatted line to a thread that writes it, the lines queued
/// meanwhile in the same write. Lossless: when the queue is full, the
/// logging thread waits.
#[derive(Debug, Clone)]
pub struct LineWriter {
    queue: std::sync::mpsc::SyncSender<Message>,
}

/// Waits, when dropped, until every line logged before is written.
#[derive(Debug)]
pub struct Flush {
    queue: std::sync::mpsc::SyncSender<Message>,
}

impl LineWriter {
    /// A writer whose lines reach `out`, and the guard that flushes them.
    pub fn to(out: impl std::io::Write + Send + 'static) -> (LineWriter, Flush) {
        let (queue, lines) = std::sync::mpsc::sync_channel::<Message>(QUEUED_LINES);
        let spawned = std::thread::Builder::new().name("log-writer".into()).spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
            // Parked while idle; while lines keep coming, wake on a timer
            // and take all that queued, so a busy server's logging threads
            // never have to wake this one.
            while let Ok(first) = lines.recv() {
                let mut next = Some(first);
                loop {
                    while let Some(message) = next {
                        match message {
                            Message::Line(line) => {
                                let _ = out.write_all(&line);
                            }
                            Message::Flush(done) => {
                                let _ = out.flush();
                                let _ = done.send(());
                            }
                        }
                        next = lines.try_recv().ok();
                    }
                    let _ = out.flush();
                    std::thread::sleep(BATCH_EVERY);
                    next = lines.try_recv().ok();
                    if next.is_none() {
                        break;
                    }
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("cannot start the log thread ({e}); log lines will be written as they come");
        }
        (LineWriter { queue: queue.clone() }, Flush { queue })
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        let (done, written) = std::sync::mpsc::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = written.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// One event's line, sent whole when the formatter is done with it.
#[derive(Debug)]
pub struct Line<'a> {
    bytes: Vec<u8>,
    queue: &'a std::sync::mpsc::SyncSender<Message>,
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        let line = Message::Line(std::mem::take(&mut self.bytes));
        if let Err(std::sync::mpsc::SendError(Message::Line(bytes))) = self.queue.send(line) {
            // No log thread: write it here rather than lose it.
            let _ = std::io::stderr().write_all(&bytes);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line { bytes: Vec::with_capacity(256), queue: &self.queue }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_drops() {
        use tracing_subscriber::fmt::MakeWriter;
        let out = Shared::default();
        let (writer, flush) = LineWriter::to(out.clone());
        // More lines than the queue holds: logging waits, nothing is dropped.
        let count = QUEUED_LINES * 2;
        for i in 0..count {
            let mut line = writer.make_writer();
            // Written in pieces, as a formatter does.
            write!(line, "line ").expect("write");
            writeln!(line, "{i}").expect("write");
        }
        drop(flush);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let numbers: Vec<usize> = text.lines().map(|l| l["line ".len()..].parse().expect("whole line")).collect();
        assert_eq!(numbers, (0..count).collect::<Vec<_>>());
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
