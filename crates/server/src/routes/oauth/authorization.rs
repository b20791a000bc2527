//! The authorization request of the authorization-code flow (RFC 6749
//! §4.1.1, PKCE `S256` only, RFC 9207 `iss`), checked the same way for every
//! product: the client and its redirect URI first — while either is wrong
//! the answer is a page of the server's, never a redirect (an open
//! redirector otherwise) — then the rest, whose errors go back to the
//! client with `error`, `state` and `iss`. What a scope or a resource means
//! is the product's; this module hands them over as the client wrote them.

use std::collections::HashMap;

use axum::response::{IntoResponse, Redirect, Response};
use sitegpt_access::catalog::{Catalog, Scopes};
use sitegpt_access::oauth::{ResourceKind, check_challenge, redirect_matches};
use sitegpt_store::OAuthClient;

/// The parameters of the request itself; everything else in the query or
/// the consent form is ignored.
pub const REQUEST_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// A parameter that may appear once was given more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// The request's parameters, each with every value it was given.
#[derive(Debug)]
pub struct Params<'a> {
    seen: HashMap<&'static str, Vec<&'a str>>,
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// The client or redirect URI cannot be trusted: a page (title, message).
    Page(&'static str, String),
    /// Back to the client with `error` (RFC 6749 §4.1.2.1).
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

impl Refusal {
    /// The redirect back to the client, or `None` for a page.
    pub fn redirect(self, issuer: &str) -> Result<Response, (&'static str, String)> {
        match self {
            Refusal::Page(title, message) => Err((title, message)),
            Refusal::Redirect { redirect_uri, state, error, description } => Ok(back_to_client(
                issuer,
                &redirect_uri,
                state.as_deref(),
                &[("error", error), ("error_description", &description)],
            )),
        }
    }
}

/// A request whose client, redirect URI, response type and PKCE challenge
/// passed; the scope and resource are the product's to read.
#[derive(Debug)]
pub struct Checked<'a> {
    pub client: OAuthClient,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    /// `scope`, trimmed; `None` when absent or blank.
    pub scope: Option<&'a str>,
    /// `resource`, where given once.
    pub resource: Option<&'a str>,
    /// The request's own parameters, to carry through the consent form.
    pub params: Vec<(&'static str, String)>,
}

impl Checked<'_> {
    /// The scopes asked for in the product's catalog, or `default` when the
    /// request names none.
    pub fn scopes<C: Catalog>(&self, default: Scopes<C>) -> Result<Scopes<C>, Refusal> {
        match self.scope {
            None => Ok(default),
            Some(scope) => {
                Scopes::<C>::parse_space_separated(scope).map_err(|e| self.refuse("invalid_scope", &e.to_string()))
            }
        }
    }

    /// The resource asked for among the product's, or its first (the API)
    /// when the request names none.
    pub fn resource<R: ResourceKind>(&self, public_url: &str) -> Result<R, Refusal> {
        match self.resource {
            None => Ok(R::ALL[0]),
            Some(indicator) => R::from_indicator(public_url, indicator).ok_or_else(|| {
                self.refuse("invalid_target", &format!("not a resource of this server; use {}", R::choices(public_url)))
            }),
        }
    }

    /// A refusal sent back to the client.
    pub fn refuse(&self, error: &'static str, description: &str) -> Refusal {
        Refusal::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            description: description.to_owned(),
        }
    }
}

fn page(title: &'static str, message: &str) -> Refusal {
    Refusal::Page(title, message.to_owned())
}

impl<'a> Params<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Params<'a> {
        let mut seen: HashMap<&'static str, Vec<&'a str>> = HashMap::new();
        for (name, value) in pairs {
            if let Some(known) = REQUEST_PARAMS.iter().find(|p| **p == name) {
                seen.entry(known).or_default().push(value.as_str());
            }
        }
        Params { seen }
    }

    /// A parameter given at most once (`Err` when repeated); empty is absent.
    pub fn one(&self, name: &str) -> Result<Option<&'a str>, Repeated> {
        match self.seen.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(*value).filter(|v| !v.is_empty())),
            Some(_) => Err(Repeated),
        }
    }

    /// `client_id`, which must be given once.
    pub fn client_id(&self) -> Result<&'a str, Refusal> {
        self.one("client_id")
            .map_err(|Repeated| page("Invalid request", "The request names its application more than once."))?
            .ok_or_else(|| page("Invalid request", "The request does not say which application is asking (client_id)."))
    }

    /// Checks the rest of the request against its `client`, in the order
    /// RFC 6749 §4.1.2.1 asks.
    pub fn check(&self, client: OAuthClient) -> Result<Checked<'a>, Refusal> {
        let redirect_uri = self
            .one("redirect_uri")
            .map_err(|Repeated| page("Invalid request", "The request names its redirect address more than once."))?
            .ok_or_else(|| page("Invalid request", "The request does not say where to return you (redirect_uri)."))?;
        let printable = redirect_uri.bytes().all(|b| b.is_ascii_graphic());
        if !printable || !client.redirect_uris.iter().any(|registered| redirect_matches(registered, redirect_uri)) {
            return Err(Refusal::Page(
                "Unregistered redirect address",
                format!(
                    "{} asked to send you to an address it did not register. For your safety you were not sent there.",
                    client.name
                ),
            ));
        }
        let mut checked = Checked {
            client,
            redirect_uri: redirect_uri.to_owned(),
            state: self.one("state").ok().flatten().map(str::to_owned),
            code_challenge: String::new(),
            scope: None,
            resource: None,
            params: REQUEST_PARAMS
                .iter()
                .filter_map(|name| self.one(name).ok().flatten().map(|value| (*name, value.to_owned())))
                .collect(),
        };
        let single = |name: &str| {
            self.one(name).map_err(|Repeated| checked.refuse("invalid_request", &format!("`{name}` is repeated")))
        };
        match single("response_type")? {
            Some("code") => {}
            None => return Err(checked.refuse("invalid_request", "`response_type` is required; use code")),
            Some(_) => return Err(checked.refuse("unsupported_response_type", "only response_type=code is supported")),
        }
        match single("code_challenge_method")? {
            Some("S256") => {}
            None => {
                return Err(checked.refuse(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                ));
            }
            Some(_) => return Err(checked.refuse("invalid_request", "only code_challenge_method=S256 is accepted")),
        }
        let code_challenge = single("code_challenge")?
            .ok_or_else(|| checked.refuse("invalid_request", "PKCE is required: send code_challenge"))?;
        check_challenge(code_challenge).map_err(|e| checked.refuse("invalid_request", &e.to_string()))?;
        let scope = single("scope")?.map(str::trim).filter(|s| !s.is_empty());
        let resource = self
            .one("resource")
            .map_err(|Repeated| checked.refuse("invalid_target", "ask for one resource at a time"))?;
        checked.code_challenge = code_challenge.to_owned();
        checked.scope = scope;
        checked.resource = resource;
        Ok(checked)
    }
}

/// `redirect_uri` with `pairs` added to its query.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.finish())
}

/// Back to the client, with the client's `state` and this server's `iss`.
/// `Location` is its registered URI (printable ASCII, checked at
/// registration) and our own encoded pairs.
pub fn back_to_client(
    issuer: &str,
    redirect_uri: &str,
    client_state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    if let Some(value) = client_state {
        all.push(("state", value));
    }
    all.push(("iss", issuer));
    Redirect::to(&with_query(redirect_uri, &all)).into_response()
}

/// The `form-action` source a consent form needs so that its answer may
/// redirect to `target` (an OAuth client's redirect URI), or `None` when
/// `target` is not a URL.
pub fn form_action_source(target: &str) -> Option<String> {
    match url::Url::parse(target) {
        Ok(url) if url.has_host() => Some(url.origin().ascii_serialization()),
        Ok(url) => Some(format!("{}:", url.scheme())),
        Err(_) => None,
    }
}
