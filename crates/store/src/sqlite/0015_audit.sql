-- The audit log. No foreign keys: an event outlives what it names (a
-- deleted user or token is still what the event was about).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    account_id TEXT,
    action TEXT NOT NULL,
    actor_user_id TEXT,
    actor_token_id TEXT,
    actor_service TEXT,
    user_id TEXT,
    token_id TEXT,
    target_id TEXT,
    ip TEXT,
    user_agent TEXT,
    details TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_by_account ON audit_events (account_id, at, id);
CREATE INDEX audit_events_by_user ON audit_events (user_id, at);
CREATE INDEX audit_events_by_token ON audit_events (token_id, at);
CREATE INDEX audit_events_by_time ON audit_events (at);
