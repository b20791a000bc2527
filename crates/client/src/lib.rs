//! A typed, blocking client for the sitegpt API v2 and its OAuth endpoints,
//! over the shared wire types. The CLI talks to the server only through it.
//!
//! Errors keep what a caller needs to tell a person what to do next: the URL
//! that could not be reached, or the API's status, code, message and details.

use std::io::Read;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sitegpt_api_types::{
    AccountInfo, CreateTokenRequest, DeviceAuthorizationResponse, Failure, IssuedToken, OAuthErrorBody,
    OAuthTokenResponse, Page, Success, Token, TokenData,
};

/// The public client id of the first-party CLI.
pub const CLI_CLIENT_ID: &str = "sitegpt-cli";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Waits on `429` this long at most before giving up and reporting it.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        status: u16,
        code: String,
        message: String,
        details: Option<Vec<serde_json::Value>>,
        /// Seconds, from `Retry-After` on `429`.
        retry_after: Option<u64>,
        /// The scope named by `WWW-Authenticate` on `403 insufficient_scope`.
        missing_scope: Option<String>,
    },
    #[error("{error}: {description}")]
    OAuth { status: u16, error: String, description: String, interval: Option<i64> },
    #[error("the server at {url} answered something unexpected: {reason}")]
    InvalidResponse { url: String, reason: String },
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A bearer token held by the client; never printed by `Debug`.
#[derive(Clone)]
struct Bearer(String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<Bearer>,
    agent: ureq::Agent,
    debug: bool,
}

/// One poll of the token endpoint.
#[derive(Debug)]
pub enum Poll {
    Token(OAuthTokenResponse),
    Pending,
    SlowDown { interval: Option<i64> },
    Denied,
    Expired,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("sitegpt-cli/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { base: base_url.trim_end_matches('/').to_owned(), token: None, agent, debug: false }
    }

    #[must_use]
    pub fn with_token(mut self, token: &str) -> Client {
        self.token = Some(Bearer(token.to_owned()));
        self
    }

    /// Logs each request and response status to stderr, `Authorization` redacted.
    #[must_use]
    pub fn with_debug(mut self, debug: bool) -> Client {
        self.debug = debug;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_request(&self, method: &str, url: &str) {
        if self.debug {
            let auth = if self.token.is_some() { " (Authorization: Bearer <redacted>)" } else { "" };
            eprintln!("debug: → {method} {url}{auth}");
        }
    }

    /// Sends a request; retries `429` answers whose `Retry-After` is short.
    fn send(&self, method: &str, path: &str, body: Option<Body<'_>>) -> Result<ureq::Response> {
        self.send_with(method, path, &[], body)
    }

    /// [`Client::send`] with extra headers (set after, so they may replace
    /// `Accept` or `Content-Type`).
    fn send_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<Body<'_>>,
    ) -> Result<ureq::Response> {
        let url = self.url(path);
        let mut waited = Duration::ZERO;
        loop {
            let mut request = self.agent.request(method, &url).set("Accept", "application/json");
            if let Some(Bearer(token)) = &self.token {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
            if matches!(body, Some(Body::Raw(_))) {
                request = request.set("Content-Type", "application/json");
            }
            for (name, value) in headers {
                request = request.set(name, value);
            }
            self.log_request(method, &url);
            let started = Instant::now();
            let result = match &body {
                None => request.call(),
                Some(Body::Json(json)) => request.send_json(json),
                Some(Body::Form(pairs)) => request.send_form(pairs),
                Some(Body::Raw(bytes)) => request.send_bytes(bytes),
            };
            let response = match result {
                Ok(response) | Err(ureq::Error::Status(_, response)) => response,
                Err(ureq::Error::Transport(e)) => {
                    let reason = transport_reason(&e, &url);
                    return Err(ClientError::Unreachable { url, reason });
                }
            };
            if self.debug {
                eprintln!("debug: ← {} in {} ms", response.status(), started.elapsed().as_millis());
            }
            let retry_after = response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
            match retry_after {
                Some(secs) if response.status() == 429 && waited + Duration::from_secs(secs) <= MAX_RETRY_WAIT => {
                    eprintln!("The server is rate-limiting requests; retrying in {secs} s…");
                    std::thread::sleep(Duration::from_secs(secs));
                    waited += Duration::from_secs(secs);
                }
                _ => return Ok(response),
            }
        }
    }

    /// An API v2 call: `data` on success, the error envelope as `ClientError::Api`.
    fn api<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&impl Serialize>) -> Result<T> {
        let json = body.map(serde_json::to_value).transpose().map_err(|e| self.invalid(path, e))?;
        let response = self.send(method, path, json.as_ref().map(Body::Json))?;
        let status = response.status();
        let retry_after = response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let missing_scope = response.header("www-authenticate").and_then(scope_from_challenge);
        let text = read_body(response).map_err(|e| self.invalid(path, e))?;
        if (200..300).contains(&status) {
            let parsed: Success<T> = serde_json::from_str(&text).map_err(|e| self.invalid(path, e))?;
            return Ok(parsed.data);
        }
        match serde_json::from_str::<Failure>(&text) {
            Ok(failure) => Err(ClientError::Api {
                status,
                code: failure.error.code,
                message: failure.error.message,
                details: failure.error.details,
                retry_after,
                missing_scope,
            }),
            Err(_) => Err(ClientError::Api {
                status,
                code: format!("HTTP_{status}"),
                message: format!("the server answered HTTP {status}"),
                details: None,
                retry_after,
                missing_scope,
            }),
        }
    }

    /// An OAuth call: the JSON body on success, OAuth's error JSON as `ClientError::OAuth`.
    fn oauth<T: DeserializeOwned>(&self, path: &str, form: &[(&str, &str)]) -> Result<T> {
        let response = self.send("POST", path, Some(Body::Form(form)))?;
        let status = response.status();
        let text = read_body(response).map_err(|e| self.invalid(path, e))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| self.invalid(path, e));
        }
        let body: OAuthErrorBody = serde_json::from_str(&text).map_err(|e| self.invalid(path, e))?;
        Err(ClientError::OAuth {
            status,
            error: body.error,
            description: body.error_description.unwrap_or_default(),
            interval: body.interval,
        })
    }

    fn invalid(&self, path: &str, e: impl std::fmt::Display) -> ClientError {
        ClientError::InvalidResponse { url: self.url(path), reason: e.to_string() }
    }

    /// Any request, answered as it came: `path` is under the server's URL
    /// (query included), `body` is sent as JSON, `headers` are added.
    /// Only an unreachable server or an unreadable answer is an error.
    pub fn request_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<RawResponse> {
        let response = self.send_with(method, path, headers, body.map(Body::Raw))?;
        let status = response.status();
        let body = read_body(response).map_err(|e| self.invalid(path, e))?;
        Ok(RawResponse { status, body })
    }

    /// Any API v2 call answered with the envelope: its `data`, or the error.
    /// `path` is under the server's URL (`/api/v2/…`, query included).
    pub fn data(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<serde_json::Value> {
        self.api(method, path, body)
    }

    /// `GET /api/v2/account`.
    pub fn account(&self) -> Result<AccountInfo> {
        self.api("GET", "/api/v2/account", None::<&()>)
    }

    /// One page of `GET /api/v2/tokens`.
    pub fn tokens_page(&self, include_revoked: bool, cursor: Option<&str>) -> Result<Page<Token>> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", "200");
        if include_revoked {
            query.append_pair("includeRevoked", "true");
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        self.api("GET", &format!("/api/v2/tokens?{}", query.finish()), None::<&()>)
    }

    /// Every token, following the cursors.
    pub fn all_tokens(&self, include_revoked: bool) -> Result<Vec<Token>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.tokens_page(include_revoked, cursor.as_deref())?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    pub fn create_token(&self, request: &CreateTokenRequest) -> Result<IssuedToken> {
        self.api("POST", "/api/v2/tokens", Some(request))
    }

    pub fn token(&self, id: &str) -> Result<Token> {
        self.api::<TokenData>("GET", &format!("/api/v2/tokens/{}", encode(id)), None::<&()>).map(|d| d.token)
    }

    pub fn rotate_token(&self, id: &str) -> Result<IssuedToken> {
        self.api("POST", &format!("/api/v2/tokens/{}/rotate", encode(id)), None::<&()>)
    }

    pub fn revoke_token(&self, id: &str) -> Result<Token> {
        self.api::<TokenData>("POST", &format!("/api/v2/tokens/{}/revoke", encode(id)), None::<&()>).map(|d| d.token)
    }

    /// `POST /oauth/device_authorization` for the CLI's public client.
    /// `scope: None` asks for the server's default (Standard access).
    pub fn start_device_login(
        &self,
        scope: Option<&str>,
        chatbot_ids: &[String],
        token_name: Option<&str>,
    ) -> Result<DeviceAuthorizationResponse> {
        let mut form: Vec<(&str, &str)> = vec![("client_id", CLI_CLIENT_ID)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        form.extend(chatbot_ids.iter().map(|id| ("chatbot_id", id.as_str())));
        if let Some(name) = token_name {
            form.push(("token_name", name));
        }
        self.oauth("/oauth/device_authorization", &form)
    }

    /// One poll of `POST /oauth/token`.
    pub fn poll_device_login(&self, device_code: &str) -> Result<Poll> {
        let form = [("grant_type", DEVICE_GRANT), ("client_id", CLI_CLIENT_ID), ("device_code", device_code)];
        match self.oauth::<OAuthTokenResponse>("/oauth/token", &form) {
            Ok(token) => Ok(Poll::Token(token)),
            Err(ClientError::OAuth { error, interval, .. }) if error == "authorization_pending" => {
                let _ = interval;
                Ok(Poll::Pending)
            }
            Err(ClientError::OAuth { error, interval, .. }) if error == "slow_down" => Ok(Poll::SlowDown { interval }),
            Err(ClientError::OAuth { error, .. }) if error == "access_denied" => Ok(Poll::Denied),
            Err(ClientError::OAuth { error, .. }) if error == "expired_token" => Ok(Poll::Expired),
            Err(other) => Err(other),
        }
    }

    /// `POST /oauth/revoke` (RFC 7009) for `token`.
    pub fn revoke(&self, token: &str) -> Result<()> {
        let form = [("token", token), ("client_id", CLI_CLIENT_ID), ("token_type_hint", "access_token")];
        let response = self.send("POST", "/oauth/revoke", Some(Body::Form(&form)))?;
        match response.status() {
            200 => Ok(()),
            status => {
                let text = read_body(response).unwrap_or_default();
                let body: Option<OAuthErrorBody> = serde_json::from_str(&text).ok();
                Err(ClientError::OAuth {
                    status,
                    error: body.as_ref().map_or_else(|| format!("http_{status}"), |b| b.error.clone()),
                    description: body.and_then(|b| b.error_description).unwrap_or_default(),
                    interval: None,
                })
            }
        }
    }
}

enum Body<'a> {
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
    /// JSON as the caller wrote it.
    Raw(&'a [u8]),
}

/// An answer as the server gave it, for callers that read the body
/// themselves.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub body: String,
}

fn read_body(response: ureq::Response) -> std::io::Result<String> {
    let mut text = String::new();
    response.into_reader().take(16 * 1024 * 1024).read_to_string(&mut text)?;
    Ok(text)
}

/// `https://host[:port]/…` → `host:port`, when something accepts TCP there.
fn plain_tcp_answers(url: &str) -> Option<String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let authority = url.strip_prefix("https://")?.split(['/', '?']).next()?;
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_owned()
    } else {
        format!("{authority}:443")
    };
    let address = with_port.to_socket_addrs().ok()?.next()?;
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok().map(|_| authority.to_owned())
}

fn transport_reason(e: &ureq::Transport, url: &str) -> String {
    if e.kind() == ureq::ErrorKind::ConnectionFailed
        && let Some(authority) = plain_tcp_answers(url)
    {
        return format!(
            "a server answers at {authority} but not over HTTPS; if it serves plain HTTP, use --api-url http://{authority}"
        );
    }
    match e.kind() {
        ureq::ErrorKind::ConnectionFailed => "connection refused or failed".into(),
        ureq::ErrorKind::Dns => "the host name does not resolve".into(),
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => "the URL is not valid".into(),
        _ => e.message().map_or_else(|| e.kind().to_string(), str::to_owned),
    }
}

/// The `scope="…"` of a `WWW-Authenticate: Bearer error="insufficient_scope"` challenge.
fn scope_from_challenge(header: &str) -> Option<String> {
    if !header.contains("insufficient_scope") {
        return None;
    }
    let start = header.find("scope=\"")? + "scope=\"".len();
    header[start..].split('"').next().map(str::to_owned)
}

fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_missing_scope() {
        let header =
            "Bearer realm=\"sitegpt\", resource_metadata=\"x\", error=\"insufficient_scope\", scope=\"tokens:write\"";
        assert_eq!(scope_from_challenge(header).as_deref(), Some("tokens:write"));
        assert_eq!(scope_from_challenge("Bearer realm=\"sitegpt\", error=\"invalid_token\""), None);
    }

    #[test]
    fn debug_output_hides_the_token() {
        let client = Client::new("http://127.0.0.1:1").with_token("sgpt_secretsecret");
        assert!(!format!("{client:?}").contains("secretsecret"));
    }

    /// A loopback server that answers each connection with the next canned reply.
    fn scripted(replies: Vec<&'static str>) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for reply in replies {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).expect("read") > 2 {
                    line.clear();
                }
                let mut stream = stream;
                stream.write_all(reply.as_bytes()).expect("write");
            }
        });
        base
    }

    const ACCOUNT: &str = r#"{"ok":true,"data":{"user":{"id":"usr_1","email":"a@example.com","emailVerified":true},"account":{"id":"acc_1","name":"A","subscriptionStatus":"active"},"role":"owner","token":{"id":"tok_1","name":"t","scopes":["account:read"],"chatbotIds":[],"expiresAt":"2030-01-01T00:00:00Z"}},"meta":{"requestId":"r"}}"#;

    #[test]
    fn short_rate_limits_are_waited_out_and_long_ones_reported() {
        let limited = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 101\r\nConnection: close\r\n\r\n{\"ok\":false,\"error\":{\"code\":\"RATE_LIMITED\",\"message\":\"slow\",\"details\":null},\"meta\":{\"requestId\":\"r\"}}";
        let ok: &'static str = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ACCOUNT}",
                ACCOUNT.len()
            )
            .into_boxed_str(),
        );
        let started = std::time::Instant::now();
        let info = Client::new(&scripted(vec![limited, ok])).with_token("sgpt_x").account().expect("retried");
        assert_eq!(info.user.email, "a@example.com");
        assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After");

        let long = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Type: application/json\r\nContent-Length: 101\r\nConnection: close\r\n\r\n{\"ok\":false,\"error\":{\"code\":\"RATE_LIMITED\",\"message\":\"slow\",\"details\":null},\"meta\":{\"requestId\":\"r\"}}";
        match Client::new(&scripted(vec![long])).account() {
            Err(ClientError::Api { status: 429, retry_after: Some(120), code, .. }) => assert_eq!(code, "RATE_LIMITED"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_unreachable_server_names_the_url() {
        // Port 1 on loopback: nothing listens there.
        let error = Client::new("http://127.0.0.1:1").account().expect_err("refused");
        match error {
            ClientError::Unreachable { url, .. } => assert_eq!(url, "http://127.0.0.1:1/api/v2/account"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
