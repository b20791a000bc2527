-- Failure counters shared by every node (sign-in attempts, wrong device
-- codes): one fixed window per key. Keys are SHA-256 hashes of what they
-- count (an address, an e-mail, a session).
CREATE TABLE rate_limits (
    key_hash BYTEA PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL
);
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
