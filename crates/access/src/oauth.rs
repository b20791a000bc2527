//! The rules of the OAuth authorization-code flow that need no I/O: protected
//! resources (RFC 8707), PKCE (RFC 7636, `S256` only), and the lifetimes of
//! codes, access tokens, refresh tokens and grants.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// An authorization code is redeemable this long after approval.
pub const CODE_SECS: i64 = 60;
/// Access tokens issued through a grant live one hour.
pub const ACCESS_TOKEN_SECS: i64 = 3600;
/// A rotated refresh token keeps working this long, for clients that retry.
pub const REFRESH_GRACE_SECS: i64 = 60;
/// A grant (and a registered client) not used for this long expires.
pub const IDLE_DAYS: i64 = 90;
/// Redirect URIs one client may have.
pub const REDIRECT_URIS_MAX: usize = 10;

/// A protected resource a token can be issued for. Tokens made without a
/// resource (dashboard, CLI, device flow) serve every resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `{public}/api/v2`.
    ApiV2,
    /// `{public}/mcp`.
    Mcp,
}

/// A product's protected resources (RFC 8707): each a path under the
/// public URL, with a stored name. The resource rules (URLs, indicators)
/// are written once for every product's resources.
pub trait ResourceKind: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every resource; the first is the default where a client names none.
    const ALL: &'static [Self];

    /// The path under the public URL.
    fn path(self) -> &'static str;

    /// The stored form.
    fn as_str(self) -> &'static str;

    fn parse(stored: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == stored)
    }

    /// The resource's identifier: the public URL and the path.
    fn url(self, public_url: &str) -> String {
        format!("{}{}", public_url.trim_end_matches('/'), self.path())
    }

    /// The resource a `resource` parameter names, or `None` when it names
    /// none of this server's.
    fn from_indicator(public_url: &str, indicator: &str) -> Option<Self> {
        let rest = indicated_path(public_url, indicator)?;
        Self::ALL.iter().copied().find(|r| r.path() == rest)
    }

    /// "`{a}` or `{b}`": every resource's URL, for messages.
    fn choices(public_url: &str) -> String {
        Self::ALL.iter().map(|r| r.url(public_url)).collect::<Vec<_>>().join(" or ")
    }
}

impl ResourceKind for Resource {
    const ALL: &'static [Resource] = &Resource::ALL;

    fn path(self) -> &'static str {
        match self {
            Resource::ApiV2 => "/api/v2",
            Resource::Mcp => "/mcp",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Resource::ApiV2 => "api",
            Resource::Mcp => "mcp",
        }
    }
}

impl Resource {
    pub const ALL: [Resource; 2] = [Resource::ApiV2, Resource::Mcp];

    /// The path under the public URL.
    pub fn path(self) -> &'static str {
        ResourceKind::path(self)
    }

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        ResourceKind::as_str(self)
    }

    pub fn parse(stored: &str) -> Option<Resource> {
        ResourceKind::parse(stored)
    }

    /// The resource's identifier: the public URL and the path.
    pub fn url(self, public_url: &str) -> String {
        ResourceKind::url(self, public_url)
    }

    /// The resource a `resource` parameter names, or `None` when it names
    /// none of this server's. The scheme and host compare without case and
    /// one trailing slash is tolerated; anything else must match exactly (no
    /// query, no fragment: RFC 8707 §2).
    pub fn from_indicator(public_url: &str, indicator: &str) -> Option<Resource> {
        ResourceKind::from_indicator(public_url, indicator)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// `scheme://authority` and the rest of a URL (which may be empty).
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let after = scheme_end + 3;
    let path_start = url[after..].find('/').map_or(url.len(), |i| after + i);
    if url[after..path_start].is_empty() {
        return None;
    }
    Some((&url[..path_start], &url[path_start..]))
}

/// The path under the public URL that a `resource` parameter names (for
/// each product to match against its resources), or `None` when it is not
/// under the public URL. The scheme and host compare without case and one
/// trailing slash is tolerated; anything else must match exactly (no query,
/// no fragment: RFC 8707 §2).
pub fn indicated_path<'a>(public_url: &str, indicator: &'a str) -> Option<&'a str> {
    let (origin, path) = split_origin(indicator)?;
    let (public_origin, public_path) = split_origin(public_url.trim_end_matches('/'))?;
    if !origin.eq_ignore_ascii_case(public_origin) {
        return None;
    }
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    path.strip_prefix(public_path)
}

/// Why a PKCE parameter is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("`code_challenge` must be 43 characters of base64url (the S256 of the verifier)")]
    BadChallenge,
    #[error("`code_verifier` must be 43 to 128 characters of A-Z, a-z, 0-9, `-`, `.`, `_` or `~`")]
    BadVerifier,
    #[error("`code_verifier` does not match the `code_challenge`")]
    Mismatch,
}

/// Checks the shape of an `S256` challenge (RFC 7636 §4.2).
pub fn check_challenge(challenge: &str) -> Result<(), PkceError> {
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if challenge.len() == 43 && challenge.bytes().all(base64url) { Ok(()) } else { Err(PkceError::BadChallenge) }
}

/// Checks a verifier against its `S256` challenge, in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> Result<(), PkceError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
        return Err(PkceError::BadVerifier);
    }
    let computed = s256(verifier);
    if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) { Ok(()) } else { Err(PkceError::Mismatch) }
}

/// `BASE64URL(SHA256(verifier))` without padding.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The hosts a native app's loopback redirect may use, on any port
/// (RFC 8252 §7.3).
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && url.host_str().is_some_and(|h| LOOPBACK_HOSTS.contains(&h))
}

/// Checks a redirect URI a client registers: `https`, a loopback `http`
/// address, or a private-use scheme with a dot (`com.example.app:/callback`,
/// RFC 8252 §7.1); never a fragment.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > 2000 {
        return Err("a redirect URI is at most 2000 characters".into());
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("`{uri}` must be printable ASCII: percent-encode anything else"));
    }
    let url = Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("`{uri}` has a fragment, which redirect URIs must not have"));
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(format!("`{uri}` uses http: use https, or http on 127.0.0.1, [::1] or localhost")),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "`{uri}`: use https, http on a loopback address, or a private-use scheme such as com.example.app:/callback"
        )),
    }
}

/// The host a redirect URI returns to, as people read it; for a private-use
/// scheme (`com.example.app:/callback`), the scheme, which names the app.
pub fn redirect_host(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => url.host_str().map_or_else(|| url.scheme().to_owned(), str::to_owned),
        Err(_) => uri.split(':').next().unwrap_or(uri).to_owned(),
    }
}

/// Whether a requested redirect URI is the registered one: exactly, or for
/// a loopback registration, on any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(mut registered), Ok(mut requested)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    if !is_loopback(&registered) || !is_loopback(&requested) {
        return false;
    }
    let ports = (registered.set_port(None), requested.set_port(None));
    ports.0.is_ok() && ports.1.is_ok() && registered == requested
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://sitegpt.example";

    #[test]
    fn rfc_7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(verify_s256(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Ok(()));
        assert_eq!(verify_s256(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"), Err(PkceError::Mismatch));
    }

    #[test]
    fn verifiers_and_challenges_have_their_shape() {
        assert_eq!(verify_s256("short", &s256("short")), Err(PkceError::BadVerifier));
        let long = "a".repeat(129);
        assert_eq!(verify_s256(&long, &s256(&long)), Err(PkceError::BadVerifier));
        let spaced = format!("{} b", "a".repeat(43));
        assert_eq!(verify_s256(&spaced, &s256(&spaced)), Err(PkceError::BadVerifier));
        assert_eq!(check_challenge(&s256(&"v".repeat(50))), Ok(()));
        assert_eq!(check_challenge("plain-verifier-used-as-challenge"), Err(PkceError::BadChallenge));
        assert_eq!(check_challenge(&format!("{}=", "A".repeat(42))), Err(PkceError::BadChallenge));
    }

    #[test]
    fn redirect_uris_registered_and_matched() {
        for good in [
            "https://app.example/callback",
            "https://app.example/cb?x=1",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:33418/callback",
            "http://[::1]:8080/cb",
            "http://localhost:6274/oauth/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "http://app.example/callback",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,hi",
            "myapp:/callback",
            "https://app.example/caf\u{e9}",
            "https://app.example/a b",
            "/relative/callback",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uri(&format!("https://app.example/{}", "a".repeat(2000))).is_err());

        assert_eq!(redirect_host("https://app.example:8443/cb"), "app.example");
        assert_eq!(redirect_host("http://127.0.0.1:4000/cb"), "127.0.0.1");
        assert_eq!(redirect_host("com.example.app:/oauth2redirect"), "com.example.app");
        assert!(redirect_matches("https://app.example/cb", "https://app.example/cb"));
        assert!(!redirect_matches("https://app.example/cb", "https://app.example/cb/"));
        assert!(!redirect_matches("https://app.example/cb", "https://app.example:8443/cb"));
        assert!(!redirect_matches("https://app.example/cb", "https://app.example/cb?x=1"));
        assert!(redirect_matches("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback"));
        assert!(redirect_matches("http://127.0.0.1:3000/callback", "http://127.0.0.1:51234/callback"));
        assert!(redirect_matches("http://localhost:6274/cb", "http://localhost:9/cb"));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:4000/cb"));
        assert!(!redirect_matches("http://127.0.0.1/callback", "http://127.0.0.1:51234/other"));
        assert!(!redirect_matches("http://127.0.0.1/callback", "http://localhost:51234/callback"));
        assert!(!redirect_matches("http://127.0.0.1/callback", "https://127.0.0.1:51234/callback"));
        assert!(!redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1.evil.example:80/cb"));
    }

    #[test]
    fn resource_indicators_name_this_servers_resources_only() {
        let cases = [
            ("https://sitegpt.example/api/v2", Some(Resource::ApiV2)),
            ("https://sitegpt.example/api/v2/", Some(Resource::ApiV2)),
            ("HTTPS://SiteGPT.Example/mcp", Some(Resource::Mcp)),
            ("https://sitegpt.example/mcp/", Some(Resource::Mcp)),
            ("https://sitegpt.example/MCP", None),
            ("https://sitegpt.example/mcp//", None),
            ("https://sitegpt.example/mcp?x=1", None),
            ("https://sitegpt.example/mcp#f", None),
            ("https://sitegpt.example", None),
            ("https://sitegpt.example/", None),
            ("https://sitegpt.example.evil/mcp", None),
            ("http://sitegpt.example/mcp", None),
            ("https://sitegpt.example:8443/mcp", None),
            ("mcp", None),
            ("", None),
        ];
        for (indicator, want) in cases {
            assert_eq!(Resource::from_indicator(PUBLIC, indicator), want, "{indicator}");
        }
        assert_eq!(
            Resource::from_indicator("http://127.0.0.1:8080/base/", "http://127.0.0.1:8080/base/mcp"),
            Some(Resource::Mcp)
        );
        assert_eq!(Resource::from_indicator("http://127.0.0.1:8080/base", "http://127.0.0.1:8080/mcp"), None);
        for r in Resource::ALL {
            assert_eq!(Resource::parse(r.as_str()), Some(r));
            assert_eq!(Resource::from_indicator(PUBLIC, &r.url(PUBLIC)), Some(r));
        }
    }
}
