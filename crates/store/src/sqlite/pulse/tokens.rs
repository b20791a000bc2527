//! Storing and loading one SitePulse token, for the token methods and for
//! the tokens OAuth grants issue.

use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreResult;
use crate::pulse::rows::{self, TOKEN_COLUMNS};
use crate::pulse::{NewPulseToken, PulseTokenRecord};
use crate::rows::ms;
use crate::sqlite::pool::backend;
use crate::sqlite::sql::{constraint, numbered};

pub(super) fn load_token(conn: &Connection, token_id: &str) -> StoreResult<Option<PulseTokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM personal_access_tokens p WHERE p.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([token_id], |r| rows::token(r)).optional())
        .map_err(backend)
}

/// Stores a new token; the constraint error when its secret exists.
pub(super) fn insert_token(conn: &Connection, new: &NewPulseToken) -> StoreResult<PulseTokenRecord> {
    let token = rows::new_token(new);
    conn.prepare_cached(&numbered(rows::INSERT_TOKEN))
        .map_err(backend)?
        .execute(params![
            token.id,
            token.user_id,
            token.name,
            &new.hash.as_bytes()[..],
            token.hint,
            token.scopes.to_space_separated(),
            ms(token.created_at),
            ms(token.expires_at)
        ])
        .map_err(constraint("a token with this secret exists"))?;
    Ok(token)
}
