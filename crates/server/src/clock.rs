//! The current time on the request path.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

const SECONDS_PER_DAY: u64 = 86_400;

thread_local! {
    /// The day (counted from the Unix epoch) this thread last asked about, and its date.
    static TODAY: Cell<Option<(u64, NaiveDate)>> = const { Cell::new(None) };
}

/// One reading of the wall clock, in the two forms the authenticated path
/// uses: the instant (expiry, last use) and nanoseconds since the Unix epoch
/// (the store's auth epoch check), so that the path reads the clock once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub at: DateTime<Utc>,
    pub unix_nanos: u64,
}

/// `Utc::now()`, with the calendar date worked out once a day per thread
/// rather than at every call: every authenticated request asks.
pub fn now() -> DateTime<Utc> {
    read().at
}

/// The clock, read once.
pub fn read() -> Reading {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => {
            let at = at(since.as_secs(), since.subsec_nanos()).unwrap_or_else(Utc::now);
            Reading { at, unix_nanos: u64::try_from(since.as_nanos()).unwrap_or(u64::MAX) }
        }
        Err(_) => Reading { at: Utc::now(), unix_nanos: 0 },
    }
}

/// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch.
fn at(secs: u64, nanos: u32) -> Option<DateTime<Utc>> {
    let day = secs / SECONDS_PER_DAY;
    let second = u32::try_from(secs % SECONDS_PER_DAY).ok()?;
    let date = match TODAY.get() {
        Some((known, date)) if known == day => date,
        _ => {
            let date = DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)?.date_naive();
            TODAY.set(Some((day, date)));
            date
        }
    };
    Some(date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(second, nanos)?).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instant_is_the_one_chrono_gives_across_days_and_leap_days() {
        let day = SECONDS_PER_DAY;
        // 2024-02-28T00:00:00Z, 2100-02-28 (not a leap year), 1970, far ahead.
        let starts = [1_709_078_400u64, 4_107_456_000, 0, 32_503_680_000];
        for start in starts {
            for offset in [0, 1, day - 1, day, day + 1, 2 * day - 1, 2 * day, 3 * day + 12_345, 0, day - 1] {
                for nanos in [0, 1, 500_000_000, 999_999_999] {
                    let secs = start + offset;
                    let expected = DateTime::from_timestamp(i64::try_from(secs).expect("fits"), nanos).expect("valid");
                    assert_eq!(at(secs, nanos), Some(expected), "{secs}.{nanos:09}");
                }
            }
        }
        let (before, now, after) = (Utc::now(), now(), Utc::now());
        assert!(before <= now && now <= after);
    }

    #[test]
    fn a_reading_gives_one_instant_in_both_forms() {
        for _ in 0..1000 {
            let before = Utc::now();
            let reading = read();
            let after = Utc::now();
            assert!(before <= reading.at && reading.at <= after);
            let nanos = i64::try_from(reading.unix_nanos).expect("fits until 2262");
            assert_eq!(DateTime::from_timestamp_nanos(nanos), reading.at);
        }
    }
}
