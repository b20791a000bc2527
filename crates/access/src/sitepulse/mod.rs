//! SitePulse v1, the second product on this engine: a website-monitoring
//! service whose personal access tokens belong to a user and act in every
//! team the user is in. Its scope catalog is its own; the scope sets, token
//! format and hashing are the engine's.

pub mod scope;

pub use scope::{PRESETS, Preset, PulseScope, PulseScopes};
