-- The OAuth authorization-code flow: clients, the grants people approve
-- (each with its one authorization code), and the grants' refresh tokens.
-- Every secret is stored as its SHA-256 only.
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- One redirect URI per line.
    redirect_uris TEXT NOT NULL,
    -- 'registered' (RFC 7591) or 'metadata' (a client ID metadata document).
    source TEXT NOT NULL CHECK (source IN ('registered', 'metadata')),
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;

CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    chatbot_ids TEXT NOT NULL DEFAULT '',
    resource TEXT NOT NULL CHECK (resource IN ('api', 'mcp')),
    redirect_uri TEXT NOT NULL,
    code_hash BLOB NOT NULL UNIQUE,
    code_challenge TEXT NOT NULL,
    code_expires_at INTEGER NOT NULL,
    code_used_at INTEGER,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id, created_at DESC);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id);

-- A refresh token is single-use: using it supersedes it and issues the next.
-- A superseded one keeps working for a short grace (clients retry); a use
-- after that revokes the whole grant.
CREATE TABLE oauth_refresh_tokens (
    hash BLOB PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    superseded_at INTEGER
) STRICT;
CREATE INDEX oauth_refresh_tokens_by_grant ON oauth_refresh_tokens (grant_id);

-- Access tokens issued through a grant, and the resource they were asked for
-- ('api' or 'mcp'; NULL: every resource).
ALTER TABLE api_tokens ADD COLUMN grant_id TEXT REFERENCES oauth_grants (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN audience TEXT CHECK (audience IN ('api', 'mcp'));
CREATE INDEX api_tokens_by_grant ON api_tokens (grant_id) WHERE grant_id IS NOT NULL;
