//! Token lifetime rules: `expiresInDays` 1–365 (default 90) or an absolute
//! `expiresAt` in the future and at most 365 days away; never both.

use chrono::{DateTime, Duration, Utc};

pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("give either expiresInDays or expiresAt, not both")]
    Both,
    #[error("expiresInDays must be between 1 and 365")]
    DaysOutOfRange,
    #[error("expiresAt must be in the future")]
    InThePast,
    #[error("expiresAt must be at most 365 days from now")]
    TooFar,
}

/// The expiry instant for a new token.
pub fn resolve_expiry(
    expires_in_days: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ExpiryError> {
    match (expires_in_days, expires_at) {
        (Some(_), Some(_)) => Err(ExpiryError::Both),
        (Some(days), None) if !(1..=MAX_DAYS).contains(&days) => Err(ExpiryError::DaysOutOfRange),
        (Some(days), None) => Ok(now + Duration::days(days)),
        (None, Some(at)) if at <= now => Err(ExpiryError::InThePast),
        (None, Some(at)) if at > now + Duration::days(MAX_DAYS) => Err(ExpiryError::TooFar),
        (None, Some(at)) => Ok(at),
        (None, None) => Ok(now + Duration::days(DEFAULT_DAYS)),
    }
}

/// Why a known token no longer authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    Revoked,
    Expired,
}

/// Whether a token has lapsed at `now`: revocation is reported before
/// expiry (both products answer the same way).
pub fn lapse(revoked_at: Option<DateTime<Utc>>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Lapse> {
    if revoked_at.is_some() {
        Some(Lapse::Revoked)
    } else if is_expired(expires_at, now) {
        Some(Lapse::Expired)
    } else {
        None
    }
}

/// A token is expired from its expiry instant on.
pub fn is_expired(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("fixed").with_timezone(&Utc)
    }

    #[test]
    fn revocation_is_reported_before_expiry() {
        let (past, future) = (now() - Duration::days(1), now() + Duration::days(1));
        assert_eq!(lapse(None, future, now()), None);
        assert_eq!(lapse(None, now(), now()), Some(Lapse::Expired), "expired from the instant on");
        assert_eq!(lapse(None, past, now()), Some(Lapse::Expired));
        assert_eq!(lapse(Some(past), future, now()), Some(Lapse::Revoked));
        assert_eq!(lapse(Some(past), past, now()), Some(Lapse::Revoked), "both: revoked");
    }

    #[test]
    fn rules_table() {
        let n = now();
        let d = Duration::days;
        type Case = (Option<i64>, Option<DateTime<Utc>>, Result<DateTime<Utc>, ExpiryError>);
        let cases: &[Case] = &[
            (None, None, Ok(n + d(90))),
            (Some(1), None, Ok(n + d(1))),
            (Some(365), None, Ok(n + d(365))),
            (Some(0), None, Err(ExpiryError::DaysOutOfRange)),
            (Some(366), None, Err(ExpiryError::DaysOutOfRange)),
            (Some(-5), None, Err(ExpiryError::DaysOutOfRange)),
            (None, Some(n + d(10)), Ok(n + d(10))),
            (None, Some(n + d(365)), Ok(n + d(365))),
            (None, Some(n + d(365) + Duration::seconds(1)), Err(ExpiryError::TooFar)),
            (None, Some(n), Err(ExpiryError::InThePast)),
            (None, Some(n - d(1)), Err(ExpiryError::InThePast)),
            (Some(30), Some(n + d(10)), Err(ExpiryError::Both)),
        ];
        for (days, at, expected) in cases {
            assert_eq!(resolve_expiry(*days, *at, n), *expected, "days={days:?} at={at:?}");
        }
    }

    #[test]
    fn expiry_is_inclusive_of_the_instant() {
        let n = now();
        assert!(!is_expired(n + Duration::seconds(1), n));
        assert!(is_expired(n, n));
    }
}
