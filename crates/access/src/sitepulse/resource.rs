//! SitePulse's protected resources (RFC 8707): the API and the MCP endpoint.
//! A token issued through OAuth for one is refused at the other; personal
//! access tokens made in the dashboard serve both.

use std::fmt;

use crate::oauth::ResourceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PulseResource {
    /// `{public}/api/v1`.
    ApiV1,
    /// `{public}/mcp`.
    Mcp,
}

impl ResourceKind for PulseResource {
    const ALL: &'static [PulseResource] = &[PulseResource::ApiV1, PulseResource::Mcp];

    fn path(self) -> &'static str {
        match self {
            PulseResource::ApiV1 => "/api/v1",
            PulseResource::Mcp => "/mcp",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            PulseResource::ApiV1 => "api",
            PulseResource::Mcp => "mcp",
        }
    }
}

impl PulseResource {
    /// Whether a token issued for `audience` (`None`: every resource) may be
    /// used here.
    pub fn admits(self, audience: Option<PulseResource>) -> bool {
        audience.is_none_or(|a| a == self)
    }
}

impl fmt::Display for PulseResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_every_resource() {
        assert_eq!(
            PulseResource::choices("http://127.0.0.1:8090/"),
            "http://127.0.0.1:8090/api/v1 or http://127.0.0.1:8090/mcp"
        );
    }

    const PUBLIC: &str = "http://127.0.0.1:8090";

    #[test]
    fn indicators_name_sitepulse_resources_only() {
        for (indicator, want) in [
            ("http://127.0.0.1:8090/api/v1", Some(PulseResource::ApiV1)),
            ("http://127.0.0.1:8090/api/v1/", Some(PulseResource::ApiV1)),
            ("HTTP://127.0.0.1:8090/mcp", Some(PulseResource::Mcp)),
            ("http://127.0.0.1:8090/api/v2", None),
            ("http://127.0.0.1:8090/mcp?x=1", None),
            ("http://127.0.0.1:8091/mcp", None),
            ("http://127.0.0.1:8090", None),
            ("mcp", None),
        ] {
            assert_eq!(PulseResource::from_indicator(PUBLIC, indicator), want, "{indicator}");
        }
        for &r in PulseResource::ALL {
            assert_eq!(PulseResource::from_indicator(PUBLIC, &r.url(PUBLIC)), Some(r));
            assert_eq!(PulseResource::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn a_token_for_one_resource_is_refused_at_the_other() {
        assert!(PulseResource::Mcp.admits(None));
        assert!(PulseResource::Mcp.admits(Some(PulseResource::Mcp)));
        assert!(!PulseResource::Mcp.admits(Some(PulseResource::ApiV1)));
        assert!(!PulseResource::ApiV1.admits(Some(PulseResource::Mcp)));
    }
}
