-- Device codes carry their authorization's id (`{id}.{secret}`, ids sorted
-- by creation time): a poll finds its row by the primary key and matches
-- the code's hash there, so the hash needs no index of its own, and new ids
-- land at the end of theirs. Pending user codes stay unique, checked by the
-- writer under the write lock: one index on user codes instead of two.
-- Every random index costs a device authorization a page written to the
-- WAL, and these were three of five.
--
-- Authorizations begun before this migration have codes without an id:
-- their polls are answered `invalid_grant` and the login starts again (they
-- expire within ten minutes anyway).
CREATE TABLE device_authorizations_new (
    id TEXT PRIMARY KEY,
    device_code_hash BLOB NOT NULL,
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
INSERT INTO device_authorizations_new (id, device_code_hash, user_code, client_id, scopes, chatbot_ids, token_name,
    status, created_at, expires_at, interval_secs, last_poll_at, user_id, account_id, decided_at, token_id)
SELECT id, device_code_hash, user_code, client_id, scopes, chatbot_ids, token_name, status, created_at, expires_at,
    interval_secs, last_poll_at, user_id, account_id, decided_at, token_id
FROM device_authorizations;
DROP TABLE device_authorizations;
ALTER TABLE device_authorizations_new RENAME TO device_authorizations;
CREATE INDEX device_authorizations_by_user_code ON device_authorizations (user_code, created_at);
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
