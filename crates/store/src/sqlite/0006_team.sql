-- The account's plan, and integrations (config plus write-only secrets).
ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    config TEXT NOT NULL,
    secrets TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX integrations_by_account ON integrations (account_id, created_at, id);
