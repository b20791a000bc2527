//! The access core of sitegpt: everything that decides *who may do what*, with no
//! I/O, no async and no HTTP.
//!
//! - [`token`]: the plaintext token format (`sgpt_…`), its checksum, and hashing.
//! - [`catalog`]: what a product's scope catalog provides, and sets of its scopes.
//! - [`scope`]: SiteGPT's scope catalog and access levels.
//! - [`sitepulse`]: SitePulse v1's scope catalog (the second product).
//! - [`role`]: account roles and their scope ceilings.
//! - [`expiry`]: the token lifetime rules.
//! - [`policy`]: the authorization decision, step by step, as pure functions.
//! - [`issuance`]: the never-escalating rule for minting tokens.
//! - [`id`]: random public identifiers for stored records.
//! - [`model`]: small domain enums (subscription status, token origin).
//! - [`oauth`]: protected resources, PKCE and the lifetimes of the
//!   authorization-code flow.

pub mod base62;
pub mod catalog;
pub mod device;
pub mod email;
pub mod expiry;
pub mod id;
pub mod issuance;
pub mod model;
pub mod net;
pub mod oauth;
pub mod policy;
pub mod role;
pub mod scope;
pub mod sitepulse;
pub mod token;
pub mod v0_key;

pub use catalog::{Catalog, Scopes};
pub use expiry::{ExpiryError, resolve_expiry};
pub use issuance::{IssuanceDenied, Issuer, check_issuance};
pub use model::{CreatedVia, SubscriptionStatus};
pub use oauth::Resource;
pub use policy::{
    ChatbotRestriction, Credential, Denial, RouteRule, Subscription, Target, TokenFacts, UnauthenticatedReason,
};
pub use role::Role;
pub use scope::{AccessLevel, Scope, ScopeResource, ScopeSet, UnknownScope};
pub use token::{PlainToken, TokenHash, TokenParseError};

#[cfg(feature = "schema")]
mod schema;
