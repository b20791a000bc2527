//! Helpers every area's statements share: error mapping, the epoch bump,
//! row decoding. Imports nothing from the areas.

use rusqlite::{Connection, Row};

use super::pool::backend;
use crate::rows::Cells;
use crate::{StoreError, StoreResult};

impl Cells for Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    fn corrupt(what: &str, value: &str) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("stored {what} `{value}` is not valid").into(),
        )
    }
}

pub(super) fn bump_epoch(tx: &Connection) -> StoreResult<()> {
    tx.execute("UPDATE auth_epoch SET value = value + 1 WHERE id = 1", []).map_err(backend)?;
    Ok(())
}

/// Fails with `NotFound` unless exactly one row changed.
pub(super) fn expect_one(changed: usize) -> StoreResult<()> {
    if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

/// `Conflict(message)` for a unique violation, `NotFound` for a missing
/// parent row, else a backend error.
pub(super) fn constraint(message: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(message.into())
        } else if matches!(&e, rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
        {
            StoreError::NotFound
        } else {
            backend(e)
        }
    }
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Shared statements number their parameters `$1`…; SQLite reads `$1` as a
/// name and numbers names in order of appearance, so spell them `?1`….
pub(super) fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}
