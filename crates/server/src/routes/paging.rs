//! List paging: `?limit=` (1–200, default 50) and an opaque `?cursor=` that
//! encodes the position `(createdAt, id)` of the last item served.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use sitegpt_access::id::is_plausible_id;

use crate::error::ApiError;

/// Where a page starts: after the item at this `(createdAt, id)`.
pub type Position = (DateTime<Utc>, String);

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Parses `?limit=`: 1–200, default 50.
pub fn parse_limit(value: Option<&str>) -> Result<usize, ApiError> {
    let Some(value) = value else { return Ok(DEFAULT_LIMIT) };
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::validation(vec!["limit".into()], format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
    }
}

pub fn encode_cursor(at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{id}", at.timestamp_millis()))
}

pub fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    let invalid = || ApiError::validation(vec!["cursor".into()], "cursor is not valid; start again without it");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (ms, id) = text.split_once('.').ok_or_else(invalid)?;
    let at = ms.parse::<i64>().ok().and_then(|ms| Utc.timestamp_millis_opt(ms).single()).ok_or_else(invalid)?;
    if !is_plausible_id(id) {
        return Err(invalid());
    }
    Ok((at, id.to_owned()))
}

/// `?limit=` and `?cursor=` of a list, checked.
pub fn window(limit: Option<&str>, cursor: Option<&str>) -> Result<(usize, Option<Position>), ApiError> {
    Ok((parse_limit(limit)?, cursor.map(decode_cursor).transpose()?))
}

/// Fetches one more than `limit` to know whether there is a next page, then
/// trims and returns the cursor of the last item served.
pub fn next_page<T>(
    mut items: Vec<T>,
    limit: usize,
    position: impl Fn(&T) -> (DateTime<Utc>, &str),
) -> (Vec<T>, Option<String>) {
    if items.len() > limit {
        items.truncate(limit);
        let cursor = items.last().map(|last| {
            let (at, id) = position(last);
            encode_cursor(at, id)
        });
        (items, cursor)
    } else {
        (items, None)
    }
}

/// Pages a list already in memory (small account-level lists), ordered by
/// `position` ascending.
pub fn page_in_memory<T>(
    items: Vec<T>,
    limit: usize,
    after: Option<(DateTime<Utc>, String)>,
    position: impl Fn(&T) -> (DateTime<Utc>, &str),
) -> (Vec<T>, Option<String>) {
    let rest: Vec<T> = match &after {
        None => items,
        Some((at, id)) => items
            .into_iter()
            .filter(|item| {
                let (item_at, item_id) = position(item);
                (item_at, item_id) > (*at, id.as_str())
            })
            .collect(),
    };
    let mut rest = rest;
    rest.truncate(limit + 1);
    next_page(rest, limit, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).single().expect("time");
        let cursor = encode_cursor(at, "tok_abc");
        assert_eq!(decode_cursor(&cursor).expect("valid"), (at, "tok_abc".to_owned()));
        for bad in ["", "!!!", "bm9wZQ", &URL_SAFE_NO_PAD.encode("12.../x")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).expect("default"), 50);
        assert_eq!(parse_limit(Some("200")).expect("max"), 200);
        for bad in ["0", "201", "-1", "ten", ""] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
