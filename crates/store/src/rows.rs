//! Reading records out of result rows, shared by every engine.
//!
//! Both engines keep the same columns with the same meaning (times as UTC
//! milliseconds, lists as space-separated text), so one decoder per record
//! serves both; an engine only says how to read one cell ([`Cells`]). The
//! column lists here are the order the decoders expect.

use chrono::{DateTime, TimeZone, Utc};
use sitegpt_access::net::IpAllowlist;
use sitegpt_access::{ChatbotRestriction, CreatedVia, Resource, Role, ScopeSet, SubscriptionStatus};

use crate::{
    Account, Brand, BrandUser, Chatbot, ChatbotItem, ClientSource, Conversation, DeviceAuthorization, DeviceStatus,
    Grant, IntegrationRecord, Invitation, MailLink, MemberRecord, Message, OAuthClient, QueuedMail, TokenRecord, User,
    V0Key, V0KeyOwner,
};

/// One result row of an engine.
pub(crate) trait Cells {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    /// The error for a stored value that does not parse.
    fn corrupt(what: &str, value: &str) -> Self::Error;

    fn time(&self, i: usize) -> Result<DateTime<Utc>, Self::Error> {
        self.int(i).map(from_ms)
    }

    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, Self::Error> {
        Ok(self.opt_int(i)?.map(from_ms))
    }

    fn role(&self, i: usize) -> Result<Role, Self::Error> {
        let s = self.text(i)?;
        s.parse().map_err(|_| Self::corrupt("role", &s))
    }

    fn opt_role(&self, i: usize) -> Result<Option<Role>, Self::Error> {
        match self.opt_text(i)? {
            Some(s) => s.parse().map(Some).map_err(|_| Self::corrupt("role", &s)),
            None => Ok(None),
        }
    }

    fn subscription(&self, i: usize) -> Result<SubscriptionStatus, Self::Error> {
        let s = self.text(i)?;
        SubscriptionStatus::parse(&s).ok_or_else(|| Self::corrupt("subscription_status", &s))
    }

    fn scopes(&self, i: usize) -> Result<ScopeSet, Self::Error> {
        let s = self.text(i)?;
        ScopeSet::parse_space_separated(&s).map_err(|_| Self::corrupt("scopes", &s))
    }

    fn chatbots(&self, i: usize) -> Result<ChatbotRestriction, Self::Error> {
        Ok(ChatbotRestriction::from_ids(self.text(i)?.split_ascii_whitespace().map(str::to_owned).collect()))
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A list position as parameters: `(created_at, id)`, or two NULLs.
pub(crate) fn cursor_params(after: &Option<(DateTime<Utc>, String)>) -> (Option<i64>, Option<String>) {
    match after {
        Some((at, id)) => (Some(ms(*at)), Some(id.clone())),
        None => (None, None),
    }
}

/// A page size as a SQL integer.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) const TOKEN_COLUMNS: &str = "t.id, t.account_id, t.user_id, t.name, t.hint, t.scopes, t.chatbot_ids, \
     t.created_via, t.created_at, t.secret_issued_at, t.expires_at, t.last_used_at, t.revoked_at, t.grant_id, \
     t.audience, t.last_used_ip, t.last_used_user_agent, t.allowed_ips";

/// Eighteen cells from `TOKEN_COLUMNS`.
pub(crate) fn token<R: Cells>(row: &R) -> Result<TokenRecord, R::Error> {
    let via = row.text(7)?;
    Ok(TokenRecord {
        id: row.text(0)?,
        account_id: row.text(1)?,
        user_id: row.text(2)?,
        name: row.text(3)?,
        hint: row.text(4)?,
        scopes: row.scopes(5)?,
        chatbots: row.chatbots(6)?,
        created_via: CreatedVia::parse(&via).ok_or_else(|| R::corrupt("created_via", &via))?,
        created_at: row.time(8)?,
        secret_issued_at: row.time(9)?,
        expires_at: row.time(10)?,
        last_used_at: row.opt_time(11)?,
        revoked_at: row.opt_time(12)?,
        grant_id: row.opt_text(13)?,
        audience: match row.opt_text(14)? {
            None => None,
            Some(stored) => Some(Resource::parse(&stored).ok_or_else(|| R::corrupt("audience", &stored))?),
        },
        last_used_ip: row.opt_text(15)?,
        last_used_user_agent: row.opt_text(16)?,
        allowed_ips: {
            let stored = row.text(17)?;
            IpAllowlist::from_stored(&stored).map_err(|_| R::corrupt("allowed_ips", &stored))?
        },
    })
}

/// What `token_for_auth` selects: the token, then the facts it is judged by.
pub(crate) const TOKEN_AUTH_SELECT: &str = "SELECT t.id, t.account_id, t.user_id, t.name, t.hint, t.scopes, \
     t.chatbot_ids, t.created_via, t.created_at, t.secret_issued_at, t.expires_at, t.last_used_at, t.revoked_at, \
     t.grant_id, t.audience, t.last_used_ip, t.last_used_user_agent, t.allowed_ips, \
     u.email, u.email_verified_at, m.role, a.name, a.subscription_status \
     FROM api_tokens t \
     JOIN users u ON u.id = t.user_id \
     JOIN accounts a ON a.id = t.account_id \
     LEFT JOIN memberships m ON m.account_id = t.account_id AND m.user_id = t.user_id";

pub(crate) fn token_auth<R: Cells>(row: &R) -> Result<crate::TokenAuth, R::Error> {
    Ok(crate::TokenAuth {
        token: token(row)?,
        user_email: row.text(18)?,
        email_verified: row.opt_int(19)?.is_some(),
        role: row.opt_role(20)?,
        account_name: row.text(21)?,
        subscription: row.subscription(22)?,
    })
}

pub(crate) const ACCOUNT_COLUMNS: &str = "id, name, subscription_status, created_at";

pub(crate) fn account<R: Cells>(row: &R) -> Result<Account, R::Error> {
    Ok(Account { id: row.text(0)?, name: row.text(1)?, subscription: row.subscription(2)?, created_at: row.time(3)? })
}

pub(crate) const USER_COLUMNS: &str = "id, email, password_hash, email_verified_at, created_at";

pub(crate) fn user<R: Cells>(row: &R) -> Result<User, R::Error> {
    Ok(User {
        id: row.text(0)?,
        email: row.text(1)?,
        password_hash: row.text(2)?,
        email_verified_at: row.opt_time(3)?,
        created_at: row.time(4)?,
    })
}

pub(crate) const MEMBER_SELECT: &str = "SELECT u.id, u.email, u.password_hash, u.email_verified_at, u.created_at, \
     m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id";

pub(crate) fn member<R: Cells>(row: &R) -> Result<MemberRecord, R::Error> {
    Ok(MemberRecord { user: user(row)?, role: row.role(5)?, joined_at: row.time(6)? })
}

pub(crate) const SESSION_SELECT: &str = "SELECT u.id, u.email, u.password_hash, u.email_verified_at, u.created_at, \
     s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id";

pub(crate) fn session<R: Cells>(row: &R) -> Result<crate::Session, R::Error> {
    Ok(crate::Session { user: user(row)?, csrf_token: row.text(5)?, expires_at: row.time(6)? })
}

pub(crate) const CHATBOT_COLUMNS: &str = "id, account_id, name, description, appearance, created_at, updated_at";

pub(crate) fn chatbot<R: Cells>(row: &R) -> Result<Chatbot, R::Error> {
    Ok(Chatbot {
        id: row.text(0)?,
        account_id: row.text(1)?,
        name: row.text(2)?,
        description: row.text(3)?,
        appearance: row.text(4)?,
        created_at: row.time(5)?,
        updated_at: row.time(6)?,
    })
}

pub(crate) const ITEM_COLUMNS: &str = "id, account_id, chatbot_id, kind, data, created_at, updated_at";

pub(crate) fn item<R: Cells>(row: &R) -> Result<ChatbotItem, R::Error> {
    Ok(ChatbotItem {
        id: row.text(0)?,
        account_id: row.text(1)?,
        chatbot_id: row.text(2)?,
        kind: row.text(3)?,
        data: row.text(4)?,
        created_at: row.time(5)?,
        updated_at: row.time(6)?,
    })
}

pub(crate) const CONVERSATION_COLUMNS: &str = "id, account_id, chatbot_id, status, visitor, created_at, updated_at";

pub(crate) fn conversation<R: Cells>(row: &R) -> Result<Conversation, R::Error> {
    Ok(Conversation {
        id: row.text(0)?,
        account_id: row.text(1)?,
        chatbot_id: row.text(2)?,
        status: row.text(3)?,
        visitor: row.text(4)?,
        created_at: row.time(5)?,
        updated_at: row.time(6)?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, role, content, created_at";

pub(crate) fn message<R: Cells>(row: &R) -> Result<Message, R::Error> {
    Ok(Message {
        id: row.text(0)?,
        conversation_id: row.text(1)?,
        role: row.text(2)?,
        content: row.text(3)?,
        created_at: row.time(4)?,
    })
}

pub(crate) const INTEGRATION_COLUMNS: &str = "id, account_id, type, config, secrets, created_at, updated_at";

pub(crate) fn integration<R: Cells>(row: &R) -> Result<IntegrationRecord, R::Error> {
    Ok(IntegrationRecord {
        id: row.text(0)?,
        account_id: row.text(1)?,
        kind: row.text(2)?,
        config: row.text(3)?,
        secrets: row.text(4)?,
        created_at: row.time(5)?,
        updated_at: row.time(6)?,
    })
}

pub(crate) const DEVICE_COLUMNS: &str = "id, user_code, client_id, scopes, chatbot_ids, token_name, status, \
     created_at, expires_at, interval_secs, user_id, account_id, last_poll_at";

/// A device authorization and when it was last polled.
pub(crate) fn device<R: Cells>(row: &R) -> Result<(DeviceAuthorization, Option<DateTime<Utc>>), R::Error> {
    let status = row.text(6)?;
    Ok((
        DeviceAuthorization {
            id: row.text(0)?,
            user_code: row.text(1)?,
            client_id: row.text(2)?,
            scopes: row.scopes(3)?,
            chatbots: row.chatbots(4)?,
            token_name: row.opt_text(5)?,
            status: DeviceStatus::parse(&status).ok_or_else(|| R::corrupt("status", &status))?,
            created_at: row.time(7)?,
            expires_at: row.time(8)?,
            interval_secs: row.int(9)?,
            user_id: row.opt_text(10)?,
            account_id: row.opt_text(11)?,
        },
        row.opt_time(12)?,
    ))
}

/// Counts one failure: the same statement for both engines. Parameters: key
/// hash, now, window start limit. (SQLite numbers `$n` parameters in order of
/// first appearance, so shared statements keep them in order.)
pub(crate) const COUNT_FAILURE: &str = "INSERT INTO rate_limits (key_hash, window_start, count) VALUES ($1, $2, 1) \
     ON CONFLICT (key_hash) DO UPDATE SET \
     count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
     window_start = CASE WHEN rate_limits.window_start <= $3 THEN excluded.window_start ELSE rate_limits.window_start END \
     RETURNING window_start, count";

/// Parameters: key hash, window start limit (windows starting at or before it are over).
pub(crate) const FAILURES: &str =
    "SELECT window_start, count FROM rate_limits WHERE key_hash = $1 AND window_start > $2";

pub(crate) fn failure_window<R: Cells>(row: &R) -> Result<crate::FailureWindow, R::Error> {
    let count = row.int(1)?;
    Ok(crate::FailureWindow {
        started_at: row.time(0)?,
        count: u32::try_from(count).map_err(|_| R::corrupt("count", &count.to_string()))?,
    })
}

pub(crate) const BRAND_COLUMNS: &str = "id, account_id, name, created_at";

pub(crate) fn brand<R: Cells>(row: &R) -> Result<Brand, R::Error> {
    Ok(Brand { id: row.text(0)?, account_id: row.text(1)?, name: row.text(2)?, created_at: row.time(3)? })
}

pub(crate) const BRAND_USER_COLUMNS: &str = "id, brand_id, email, name, message_quota, created_at, updated_at";

pub(crate) fn brand_user<R: Cells>(row: &R) -> Result<BrandUser, R::Error> {
    Ok(BrandUser {
        id: row.text(0)?,
        brand_id: row.text(1)?,
        email: row.text(2)?,
        name: row.opt_text(3)?,
        message_quota: row.opt_int(4)?,
        created_at: row.time(5)?,
        updated_at: row.time(6)?,
    })
}

pub(crate) const V0_KEY_COLUMNS: &str = "user_id, brand_user_id, hint, created_at";

pub(crate) fn v0_key<R: Cells>(row: &R) -> Result<V0Key, R::Error> {
    let owner = match (row.opt_text(0)?, row.opt_text(1)?) {
        (Some(user), None) => V0KeyOwner::User(user),
        (None, Some(brand_user)) => V0KeyOwner::BrandUser(brand_user),
        _ => return Err(R::corrupt("v0 key owner", "both or neither")),
    };
    Ok(V0Key { owner, hint: row.text(2)?, created_at: row.time(3)? })
}

/// The owner of a v0 key as its two columns, `(user_id, brand_user_id)`.
pub(crate) fn v0_owner_columns(owner: &V0KeyOwner) -> (Option<&str>, Option<&str>) {
    match owner {
        V0KeyOwner::User(id) => (Some(id.as_str()), None),
        V0KeyOwner::BrandUser(id) => (None, Some(id.as_str())),
    }
}

pub(crate) const INVITATION_COLUMNS: &str = "id, account_id, email, role, invited_by, created_at, expires_at";

pub(crate) fn invitation<R: Cells>(row: &R) -> Result<Invitation, R::Error> {
    Ok(Invitation {
        id: row.text(0)?,
        account_id: row.text(1)?,
        email: row.text(2)?,
        role: row.role(3)?,
        invited_by: row.text(4)?,
        created_at: row.time(5)?,
        expires_at: row.time(6)?,
    })
}

pub(crate) const INSERT_MAIL: &str = "INSERT INTO mail_queue \
     (id, recipient, subject, body, link_kind, user_id, created_at, next_attempt_at, html, unsubscribe) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)";

/// Tokens due a notice of kind `$4`: live, their owner still a member and
/// wanting expiry warnings, expiring after `$1` and by `$2`, having lived
/// longer than `$3` milliseconds (so a short-lived token is not warned at
/// birth), without that notice yet.
pub(crate) const DUE_NOTICES: &str = "SELECT t.id, t.name, t.expires_at, t.user_id, u.email FROM api_tokens t \
     JOIN users u ON u.id = t.user_id \
     WHERE t.revoked_at IS NULL AND t.expires_at > $1 AND t.expires_at <= $2 AND t.expires_at - t.created_at > $3 \
     AND u.expiry_notices = 1 \
     AND EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = t.account_id AND m.user_id = t.user_id) \
     AND NOT EXISTS (SELECT 1 FROM token_notices n WHERE n.token_id = t.id AND n.kind = $4) \
     ORDER BY t.expires_at, t.id LIMIT 200";

/// Claims one notice: one row changed only for the first claimer.
pub(crate) const CLAIM_NOTICE: &str =
    "INSERT INTO token_notices (token_id, kind, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// A row of [`DUE_NOTICES`].
pub(crate) fn due_notice<R: Cells>(row: &R, kind: crate::NoticeKind) -> Result<crate::ExpiryNotice, R::Error> {
    Ok(crate::ExpiryNotice {
        token_id: row.text(0)?,
        token_name: row.text(1)?,
        expires_at: row.time(2)?,
        user_id: row.text(3)?,
        email: row.text(4)?,
        kind,
    })
}

/// Claims due mail: `$1` now, `$2` the end of the lease, `$3` how many.
/// `{lock}` is PostgreSQL's `FOR UPDATE SKIP LOCKED` (SQLite's single
/// writer needs none).
pub(crate) fn claim_mail_sql(lock: &str) -> String {
    format!(
        "UPDATE mail_queue SET next_attempt_at = $2 WHERE id IN \
         (SELECT id FROM mail_queue WHERE failed_at IS NULL AND next_attempt_at <= $1 \
          ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
         RETURNING id, recipient, subject, body, link_kind, user_id, created_at, attempts, html, unsubscribe"
    )
}

/// Whether any mail is due at `?1`.
pub(crate) const ANY_MAIL_DUE: &str =
    "SELECT 1 FROM mail_queue WHERE failed_at IS NULL AND next_attempt_at <= ?1 LIMIT 1";

/// `$1` id, `$2` error, `$3` next attempt or NULL, `$4` now.
pub(crate) const MAIL_FAILED: &str = "UPDATE mail_queue SET attempts = attempts + 1, last_error = $2, \
     next_attempt_at = coalesce(CAST($3 AS BIGINT), next_attempt_at), \
     failed_at = CASE WHEN CAST($3 AS BIGINT) IS NULL THEN CAST($4 AS BIGINT) END WHERE id = $1";

pub(crate) const MAIL_COUNTS: &str = "SELECT count(*) FILTER (WHERE failed_at IS NULL), \
     count(*) FILTER (WHERE failed_at IS NOT NULL) FROM mail_queue";

/// A new mail's id.
pub(crate) fn new_mail_id() -> String {
    sitegpt_access::id::new_prefixed_id("mail_")
}

/// Errors kept with a failed attempt are cut to this many characters.
pub(crate) const MAIL_ERROR_MAX: usize = 500;

pub(crate) fn mail_error(error: &str) -> String {
    error.chars().take(MAIL_ERROR_MAX).collect()
}

/// Eight cells from [`claim_mail_sql`]'s `RETURNING`.
pub(crate) fn queued_mail<R: Cells>(row: &R) -> Result<QueuedMail, R::Error> {
    let link = match row.opt_text(4)? {
        Some(kind) => Some(MailLink::parse(&kind).ok_or_else(|| R::corrupt("link_kind", &kind))?),
        None => None,
    };
    let attempts = row.int(7)?;
    Ok(QueuedMail {
        id: row.text(0)?,
        to: row.text(1)?,
        subject: row.text(2)?,
        body: row.text(3)?,
        link,
        user_id: row.opt_text(5)?,
        created_at: row.time(6)?,
        attempts: u32::try_from(attempts).map_err(|_| R::corrupt("attempts", &attempts.to_string()))?,
        html: row.opt_text(8)?,
        unsubscribe: row.opt_text(9)?,
    })
}

/// Failed mail is kept this long for operators, then purged.
pub(crate) const FAILED_MAIL_KEPT_MS: i64 = 7 * 86_400_000;

/// `RETURNING` rows come in no set order.
pub(crate) fn oldest_first(mut mail: Vec<QueuedMail>) -> Vec<QueuedMail> {
    mail.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    mail
}

/// Pending invitations to `$1` at `$2`, with the inviting account's name.
pub(crate) const INVITATIONS_TO: &str = "SELECT id, account_id, email, role, invited_by, created_at, expires_at, \
     (SELECT name FROM accounts WHERE accounts.id = invitations.account_id) FROM invitations \
     WHERE email = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY created_at, id";

pub(crate) const DECLINE_INVITATION: &str =
    "DELETE FROM invitations WHERE email = $1 AND id = $2 AND accepted_at IS NULL";

pub(crate) const CLIENT_COLUMNS: &str = "id, name, redirect_uris, source, created_at, last_used_at";

pub(crate) fn client<R: Cells>(row: &R) -> Result<OAuthClient, R::Error> {
    let source = row.text(3)?;
    Ok(OAuthClient {
        id: row.text(0)?,
        name: row.text(1)?,
        redirect_uris: row.text(2)?.lines().map(str::to_owned).collect(),
        source: ClientSource::parse(&source).ok_or_else(|| R::corrupt("client source", &source))?,
        created_at: row.time(4)?,
        last_used_at: row.time(5)?,
    })
}

pub(crate) const INSERT_CLIENT: &str = "INSERT INTO oauth_clients (id, name, redirect_uris, source, created_at, \
     last_used_at) VALUES ($1, $2, $3, $4, $5, $5)";
/// A metadata-document client: what its document says now replaces what
/// was known.
pub(crate) const UPSERT_CLIENT: &str = "INSERT INTO oauth_clients (id, name, redirect_uris, source, created_at, \
     last_used_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
     redirect_uris = excluded.redirect_uris, last_used_at = excluded.last_used_at \
     WHERE oauth_clients.source = 'metadata'";
/// At most once a day, so a client many people use is not one hot row.
pub(crate) const CLIENT_NAME: &str = "SELECT name FROM oauth_clients WHERE id = $1";
pub(crate) const TOUCH_CLIENT: &str =
    "UPDATE oauth_clients SET last_used_at = $2 WHERE id = $1 AND $2 > last_used_at + 86400000";

pub(crate) const INSERT_GRANT: &str = "INSERT INTO oauth_grants (id, client_id, user_id, account_id, scopes, \
     chatbot_ids, resource, redirect_uri, code_hash, code_challenge, code_expires_at, created_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";

pub(crate) const GRANT_SELECT: &str = "SELECT g.id, g.client_id, c.name, g.user_id, g.account_id, g.scopes, \
     g.chatbot_ids, g.resource, g.redirect_uri, g.code_challenge, g.code_expires_at, g.code_used_at, g.created_at, \
     g.last_used_at, g.revoked_at FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id";

pub(crate) fn grant<R: Cells>(row: &R) -> Result<Grant, R::Error> {
    let resource = row.text(7)?;
    Ok(Grant {
        id: row.text(0)?,
        client_id: row.text(1)?,
        client_name: row.text(2)?,
        user_id: row.text(3)?,
        account_id: row.text(4)?,
        scopes: row.scopes(5)?,
        chatbots: row.chatbots(6)?,
        resource: Resource::parse(&resource).ok_or_else(|| R::corrupt("grant resource", &resource))?,
        redirect_uri: row.text(8)?,
        code_challenge: row.text(9)?,
        code_expires_at: row.time(10)?,
        code_used_at: row.opt_time(11)?,
        created_at: row.time(12)?,
        last_used_at: row.time(13)?,
        revoked_at: row.opt_time(14)?,
    })
}

/// `$1` code hash, `$2` now. Returns the grant's id when the code was live
/// and unused.
pub(crate) const REDEEM_CODE: &str = "UPDATE oauth_grants SET code_used_at = $2, last_used_at = $2 \
     WHERE code_hash = $1 AND code_used_at IS NULL AND code_expires_at > $2 AND revoked_at IS NULL RETURNING id";
/// Why a code could not be redeemed: `code_used_at`, `revoked_at`.
pub(crate) const CODE_STATE: &str = "SELECT id, code_used_at, revoked_at FROM oauth_grants WHERE code_hash = $1";

/// `$1` refresh hash, `$2` now, `$3` the end of the grace (now − grace),
/// `$4` the idle limit (now − idle). Returns the grant's id when the token
/// may be used.
pub(crate) const USE_REFRESH: &str = "UPDATE oauth_refresh_tokens SET superseded_at = coalesce(superseded_at, $2) \
     WHERE hash = $1 AND (superseded_at IS NULL OR superseded_at > $3) AND EXISTS (SELECT 1 FROM oauth_grants g \
     WHERE g.id = oauth_refresh_tokens.grant_id AND g.revoked_at IS NULL AND g.last_used_at > $4) RETURNING grant_id";
/// Why a refresh token could not be used: its grant, and whether that grant
/// is live (`$2` the idle limit).
pub(crate) const REFRESH_STATE: &str = "SELECT g.id, g.revoked_at IS NULL AND g.last_used_at > $2 \
     FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id WHERE r.hash = $1";
pub(crate) const INSERT_REFRESH: &str =
    "INSERT INTO oauth_refresh_tokens (hash, grant_id, created_at) VALUES ($1, $2, $3)";
/// `$1` grant, `$2` now: marks the grant used and returns its resource and client.
pub(crate) const TOUCH_GRANT: &str =
    "UPDATE oauth_grants SET last_used_at = $2 WHERE id = $1 RETURNING resource, client_id";
pub(crate) const SET_TOKEN_GRANT: &str = "UPDATE api_tokens SET grant_id = $2, audience = $3 WHERE id = $1";

/// What presenting a code or a refresh token allows, decided by the
/// statements above in the transaction that then issues or revokes (each
/// engine asks; both products act on the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantUse {
    /// Issue from this grant.
    Issue(String),
    /// Revoke this grant: its code was replayed, or its refresh token reused
    /// after the grace.
    Revoke(String),
    Unknown,
    /// The code expired unused.
    Expired,
    /// The code's grant was revoked before.
    Revoked,
    /// The refresh token's grant was revoked or left unused.
    Ended,
}

impl GrantUse {
    /// A code's use: `live` from [`REDEEM_CODE`], else `state` from
    /// [`CODE_STATE`] (`id`, `code_used_at`, `revoked_at`).
    pub(crate) fn of_code(live: Option<String>, state: Option<(String, Option<i64>, Option<i64>)>) -> GrantUse {
        match (live, state) {
            (Some(grant_id), _) => GrantUse::Issue(grant_id),
            (None, None) => GrantUse::Unknown,
            (None, Some((_, _, Some(_)))) => GrantUse::Revoked,
            (None, Some((grant_id, Some(_), None))) => GrantUse::Revoke(grant_id),
            (None, Some((_, None, None))) => GrantUse::Expired,
        }
    }

    /// A refresh token's use: `live` from [`USE_REFRESH`], else `state`
    /// from [`REFRESH_STATE`] (`id`, whether the grant is live).
    pub(crate) fn of_refresh(live: Option<String>, state: Option<(String, bool)>) -> GrantUse {
        match (live, state) {
            (Some(grant_id), _) => GrantUse::Issue(grant_id),
            (None, None) => GrantUse::Unknown,
            (None, Some((_, false))) => GrantUse::Ended,
            (None, Some((grant_id, true))) => GrantUse::Revoke(grant_id),
        }
    }

    /// The outcome of a code's use that issued nothing.
    pub(crate) fn refused_code<T>(&self) -> crate::RedeemOutcome<T> {
        match self {
            GrantUse::Revoke(_) => crate::RedeemOutcome::Replayed,
            GrantUse::Expired => crate::RedeemOutcome::Expired,
            GrantUse::Revoked | GrantUse::Ended => crate::RedeemOutcome::Revoked,
            GrantUse::Issue(_) | GrantUse::Unknown => crate::RedeemOutcome::Unknown,
        }
    }

    /// The outcome of a refresh token's use that issued nothing.
    pub(crate) fn refused_refresh<T>(&self) -> crate::RefreshOutcome<T> {
        match self {
            GrantUse::Revoke(_) => crate::RefreshOutcome::Reused,
            GrantUse::Ended | GrantUse::Revoked | GrantUse::Expired => crate::RefreshOutcome::Ended,
            GrantUse::Issue(_) | GrantUse::Unknown => crate::RefreshOutcome::Unknown,
        }
    }
}

/// `$3`: the user whose grant it must be, or NULL for any.
pub(crate) const REVOKE_GRANT: &str =
    "UPDATE oauth_grants SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 AND user_id = coalesce($3, user_id)";
pub(crate) const REVOKE_GRANT_TOKENS: &str =
    "UPDATE api_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL";

pub(crate) const USER_GRANTS: &str = " WHERE g.user_id = $1 AND g.code_used_at IS NOT NULL AND g.revoked_at IS NULL \
     ORDER BY g.created_at DESC, g.id DESC";

/// What the janitor deletes of the OAuth flow, each with `$1` = a day ago:
/// codes never redeemed, grants revoked a day ago, access tokens expired a
/// day ago. The next three take other limits.
pub(crate) const PURGE_OAUTH_DAY: [&str; 3] = [
    "DELETE FROM oauth_grants WHERE code_used_at IS NULL AND code_expires_at <= $1",
    "DELETE FROM oauth_grants WHERE revoked_at <= $1",
    "DELETE FROM api_tokens WHERE grant_id IS NOT NULL AND expires_at <= $1",
];
/// `$1` = the idle limit: grants left unused, then clients with no grant
/// left that were not used since.
pub(crate) const PURGE_OAUTH_IDLE: [&str; 2] = [
    "DELETE FROM oauth_grants WHERE last_used_at <= $1",
    "DELETE FROM oauth_clients WHERE last_used_at <= $1 \
     AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id)",
];
/// Superseded refresh tokens are kept a week, so a replay within it still
/// revokes its grant.
pub(crate) const PURGE_SUPERSEDED_REFRESH: &str = "DELETE FROM oauth_refresh_tokens WHERE superseded_at <= $1";
pub(crate) const SUPERSEDED_REFRESH_KEPT_MS: i64 = 7 * 86_400_000;

/// A single-use link's state (verification or password reset), as an
/// error when it cannot be used.
pub(crate) fn link_usable(expires_at: i64, used_at: Option<i64>, now: DateTime<Utc>) -> crate::StoreResult<()> {
    use crate::StoreError;
    if used_at.is_some() {
        Err(StoreError::Conflict("this link was already used".into()))
    } else if ms(now) >= expires_at {
        Err(StoreError::Conflict("this link has expired".into()))
    } else {
        Ok(())
    }
}

/// The columns [`audit_event`] reads, from `audit_events e` with the actor
/// `a` and the concerned person `u` joined from `users`.
pub(crate) const AUDIT_COLUMNS: &str = "e.id, e.at, e.account_id, e.action, e.actor_user_id, e.actor_token_id, \
     e.actor_service, e.user_id, e.token_id, e.target_id, e.ip, e.user_agent, e.details, a.email, u.email";

/// What the listing of events selects from and filters by. Parameters, in
/// order: account, viewer, everyone, user, token, action (a name, or a
/// family: `token` is every `token.…`), since, until, cursor time, cursor
/// id, limit. `{n}` marks parameter n; [`audit_list_sql`] writes it each
/// engine's way.
const AUDIT_LIST: &str = "SELECT {columns} FROM audit_events e \
     LEFT JOIN users a ON a.id = e.actor_user_id \
     LEFT JOIN users u ON u.id = e.user_id \
     WHERE (e.account_id = {1} OR (e.account_id IS NULL AND e.user_id = {2})) \
       AND ({3} OR e.actor_user_id = {2} OR e.user_id = {2}) \
       AND ({4} IS NULL OR e.actor_user_id = {4} OR e.user_id = {4}) \
       AND ({5} IS NULL OR e.token_id = {5}) \
       AND ({6} IS NULL OR e.action = {6} OR substr(e.action, 1, length({6}) + 1) = {6} || '.') \
       AND ({7} IS NULL OR e.at >= {7}) \
       AND ({8} IS NULL OR e.at < {8}) \
       AND ({9} IS NULL OR e.at < {9} OR (e.at = {9} AND e.id < {10})) \
     ORDER BY e.at DESC, e.id DESC LIMIT {11}";

/// The listing's SQL with `$n` placeholders, each cast to `types[n - 1]`
/// when given (PostgreSQL must know the type of a parameter compared with
/// NULL), or with `?n` placeholders when `types` is `None` (SQLite).
pub(crate) fn audit_list_sql(types: Option<&[&str; 11]>) -> String {
    let mut sql = AUDIT_LIST.replace("{columns}", AUDIT_COLUMNS);
    for n in 1..=11 {
        let with = match types {
            Some(types) => format!("${n}::{}", types[n - 1]),
            None => format!("?{n}"),
        };
        sql = sql.replace(&format!("{{{n}}}"), &with);
    }
    sql
}

pub(crate) fn audit_event<R: Cells>(row: &R) -> Result<crate::AuditEvent, R::Error> {
    let action = row.text(3)?;
    Ok(crate::AuditEvent {
        id: row.text(0)?,
        at: row.time(1)?,
        account_id: row.opt_text(2)?,
        action: crate::AuditAction::parse(&action).ok_or_else(|| R::corrupt("action", &action))?,
        actor_user_id: row.opt_text(4)?,
        actor_token_id: row.opt_text(5)?,
        actor_service: row.opt_text(6)?,
        user_id: row.opt_text(7)?,
        token_id: row.opt_text(8)?,
        target_id: row.opt_text(9)?,
        ip: row.opt_text(10)?,
        user_agent: row.opt_text(11)?,
        details: crate::AuditEvent::parse_details(&row.text(12)?),
        actor_email: row.opt_text(13)?,
        user_email: row.opt_text(14)?,
    })
}
