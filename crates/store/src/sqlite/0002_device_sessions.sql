-- OAuth device authorizations (RFC 8628), browser sessions, e-mail
-- verification links. Secrets (device codes, session ids, link tokens) are
-- stored as SHA-256 hashes only.

CREATE TABLE device_authorizations (
    id TEXT PRIMARY KEY,
    device_code_hash BLOB NOT NULL UNIQUE,
    -- 8 characters from BCDFGHJKLMNPQRSTVWXZ, without the dash.
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    chatbot_ids TEXT NOT NULL DEFAULT '',
    token_name TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    interval_secs INTEGER NOT NULL,
    last_poll_at INTEGER,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    decided_at INTEGER,
    token_id TEXT
) STRICT;
CREATE UNIQUE INDEX device_authorizations_pending_user_code
    ON device_authorizations (user_code) WHERE status = 'pending';
CREATE INDEX device_authorizations_by_user_code ON device_authorizations (user_code, created_at);
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);

CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE email_verifications (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;
CREATE INDEX email_verifications_by_expiry ON email_verifications (expires_at);
