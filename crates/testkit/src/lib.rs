//! What the test suites of several crates share: the real `sitegpt-server`
//! binary, started on a free loopback port with its log in a file, found
//! ready by its "is listening" log line, and stopped with its test; and
//! the `oauth2` crate's HTTP hook ([`oauth2_http`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `sitegpt-server serve`, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerProcess {
    /// Runs `command` (the server binary with its environment set) as
    /// `serve` on `127.0.0.1:0`, its log written to `log`, and waits until
    /// it listens. The public URL is left to the server's default.
    pub fn start(mut command: Command, log: &Path) -> ServerProcess {
        let child = command
            .arg("serve")
            .env("SITEGPT_LISTEN", "127.0.0.1:0")
            .env_remove("SITEGPT_PUBLIC_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("a log file for the server"))
            .spawn()
            .expect("start sitegpt-server");
        let deadline = Instant::now() + START_TIMEOUT;
        let base = loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(listen) = listening_address(&text) {
                break format!("http://{listen}");
            }
            assert!(Instant::now() < deadline, "server did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(30));
        };
        ServerProcess { child, log: log.to_owned(), base }
    }

    /// Everything the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks the server to stop (SIGTERM), checks that it exits cleanly, and
    /// returns its whole log.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait for the server");
        assert!(exit.success(), "server exited with {exit}");
        self.logs()
    }
}

impl ServerProcess {
    /// Kills the server with SIGKILL, as a crash or an out-of-memory kill
    /// would: no shutdown runs.
    pub fn crash(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("wait for the server");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address from the server's "is listening" log line, once written.
fn listening_address(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|v| v["message"] == "sitegpt-server is listening")
        .and_then(|v| v["listen"].as_str().map(str::to_owned))
}

/// The `oauth2` crate's HTTP hook, on a plain blocking HTTP client. The
/// library sends revocations only to https URLs (RFC 7009 §2); test
/// servers listen on plain loopback, so `https://127.0.0.1` is sent there.
pub fn oauth2_http(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
    use std::io::Read;
    let uri = request.uri().to_string();
    let uri = uri.strip_prefix("https://127.0.0.1:").map_or(uri.clone(), |rest| format!("http://127.0.0.1:{rest}"));
    let mut call = ureq::request(request.method().as_str(), &uri);
    for (name, value) in request.headers() {
        call = call.set(name.as_str(), value.to_str().map_err(std::io::Error::other)?);
    }
    let response = match call.send_bytes(request.body()) {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let mut builder = oauth2::http::Response::builder().status(response.status());
    if let Some(content_type) = response.header("content-type") {
        builder = builder.header("content-type", content_type);
    }
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body)?;
    builder.body(body).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_address() {
        let log = "not json\n{\"message\":\"starting\"}\n{\"message\":\"sitegpt-server is listening\",\"listen\":\"127.0.0.1:4321\"}\n";
        assert_eq!(listening_address(log).as_deref(), Some("127.0.0.1:4321"));
        assert_eq!(listening_address("{\"message\":\"starting\"}\n"), None);
    }
}
