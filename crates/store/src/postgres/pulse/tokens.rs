//! Storing and loading one SitePulse token, for the token methods and for
//! the tokens OAuth grants issue.

use deadpool_postgres::GenericClient;

use crate::StoreResult;
use crate::postgres::sql::{constraint, execute, query_opt};
use crate::pulse::rows::{self, TOKEN_COLUMNS};
use crate::pulse::{NewPulseToken, PulseTokenRecord};
use crate::rows::ms;

pub(super) async fn load_token(c: &impl GenericClient, token_id: &str) -> StoreResult<Option<PulseTokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM personal_access_tokens p WHERE p.id = $1");
    query_opt(c, &sql, &[&token_id]).await?.map(|r| rows::token(&r)).transpose()
}

/// Stores a new token; the constraint error when its secret exists.
pub(super) async fn insert_token(c: &impl GenericClient, new: &NewPulseToken) -> StoreResult<PulseTokenRecord> {
    let token = rows::new_token(new);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &token.id,
        &token.user_id,
        &token.name,
        &&new.hash.as_bytes()[..],
        &token.hint,
        &token.scopes.to_space_separated(),
        &ms(token.created_at),
        &ms(token.expires_at),
    ];
    execute(c, rows::INSERT_TOKEN, &params).await.map_err(constraint("a token with this secret exists"))?;
    Ok(token)
}
