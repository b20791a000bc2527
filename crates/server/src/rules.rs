//! The authorization rule of each API v2 route, by method and route
//! template. The API router fills it from the route table when it builds
//! the routes; the `Caller` extractor reads it with the template the router
//! matched. (A table here rather than a layer
//! per route: no extension and no service clone per request.)

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::Method;
use sitegpt_access::RouteRule;

/// Per template, the rule of `GET`, `POST`, `PATCH` and `DELETE`.
type Rules = HashMap<&'static str, [Option<RouteRule>; 4], Fnv>;

static RULES: OnceLock<Rules> = OnceLock::new();

fn index(method: &str) -> Option<usize> {
    ["GET", "POST", "PATCH", "DELETE"].iter().position(|m| *m == method)
}

/// Records the route table's rules: `(method, template, rule)`. The table is
/// static, so the first call's is every call's.
pub fn install(routes: impl Iterator<Item = (&'static str, &'static str, RouteRule)>) {
    RULES.get_or_init(|| {
        let mut rules = Rules::default();
        for (method, path, rule) in routes {
            if let Some(i) = index(method) {
                rules.entry(path).or_default()[i] = Some(rule);
            }
        }
        rules
    });
}

/// The rule of the route `method` and `path` (the route's template, as
/// [`axum::extract::MatchedPath`] names it); `HEAD` is `GET`'s.
pub fn rule_for(method: &Method, path: &str) -> Option<RouteRule> {
    let i = if method == Method::HEAD { 0 } else { index(method.as_str())? };
    RULES.get()?.get(path)?[i]
}

/// FNV-1a: the keys are the route table's own templates (nothing a client
/// chooses reaches the table), so a simple fast hash will do.
#[derive(Default, Clone, Copy)]
struct Fnv;

struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;

    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
