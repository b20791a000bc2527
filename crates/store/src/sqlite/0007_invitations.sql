-- Invitations of people who have no user yet: accepted when they sign up.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    invited_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER
) STRICT;
CREATE UNIQUE INDEX invitations_pending ON invitations (account_id, email) WHERE accepted_at IS NULL;
CREATE INDEX invitations_by_email ON invitations (email);
