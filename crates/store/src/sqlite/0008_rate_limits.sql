-- Failure counters shared by every process on the database (sign-in
-- attempts, wrong device codes): one fixed window per key. Keys are SHA-256
-- hashes of what they count (an address, an e-mail, a session).
CREATE TABLE rate_limits (
    key_hash BLOB PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
