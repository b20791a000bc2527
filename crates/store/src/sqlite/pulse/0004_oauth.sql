-- The OAuth authorization-code flow for SitePulse's MCP and API clients:
-- clients, the grants people approve (each with its one authorization code),
-- and the grants' refresh tokens, in the engine's layout (SiteGPT's
-- statements that touch only these tables serve both products). Every
-- secret is stored as its SHA-256 only.
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- One redirect URI per line.
    redirect_uris TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('registered', 'metadata')),
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;

CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
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

-- Single use: using one supersedes it and issues the next; a superseded one
-- keeps working for a short grace, and a use after that revokes the grant.
CREATE TABLE oauth_refresh_tokens (
    hash BLOB PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    superseded_at INTEGER
) STRICT;
CREATE INDEX oauth_refresh_tokens_by_grant ON oauth_refresh_tokens (grant_id);

-- Access tokens issued through a grant, and the resource they were asked for
-- ('api' or 'mcp'; NULL: both, as for tokens made in the dashboard).
ALTER TABLE personal_access_tokens ADD COLUMN grant_id TEXT REFERENCES oauth_grants (id) ON DELETE CASCADE;
ALTER TABLE personal_access_tokens ADD COLUMN audience TEXT CHECK (audience IN ('api', 'mcp'));
CREATE INDEX personal_access_tokens_by_grant ON personal_access_tokens (grant_id) WHERE grant_id IS NOT NULL;
