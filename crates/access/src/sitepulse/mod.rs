//! SitePulse v1, the second product on this engine: a website-monitoring
//! service whose personal access tokens belong to a user and act in every
//! team the user is in. Its scope catalog and decision order are its own;
//! the scope sets, token lifetimes' lapse rule, token format and hashing
//! are the engine's.

pub mod policy;
pub mod resource;
pub mod scope;
pub mod token;

pub use policy::{
    Permission, Permissions, PulseCredential, PulseDenial, PulseRule, PulseToken, TeamRole, TeamStanding, admit,
    authenticate, authorize_team, decide, token_expiry,
};
pub use resource::PulseResource;
pub use scope::{PRESETS, Preset, PulseScope, PulseScopes};
pub use token::{PULSE_PREFIX, PULSE_REFRESH_PREFIX, PulseAccessToken, PulseRefreshToken};
