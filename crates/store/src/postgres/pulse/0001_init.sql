-- SitePulse v1, as the SQLite engine has it: the same tables, columns and
-- meanings, so one decoder reads both. Times are UTC milliseconds since the
-- epoch; flags are 0 or 1; secrets are SHA-256 hashes.

CREATE TABLE auth_epoch (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email_verified_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    max_sites BIGINT NOT NULL CHECK (max_sites >= 0),
    min_cadence_seconds BIGINT NOT NULL CHECK (min_cadence_seconds > 0),
    subscription_active BIGINT NOT NULL CHECK (subscription_active IN (0, 1)),
    cadence_seconds BIGINT NOT NULL CHECK (cadence_seconds > 0),
    failure_threshold BIGINT NOT NULL CHECK (failure_threshold > 0),
    escalation_minutes BIGINT CHECK (escalation_minutes > 0),
    created_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    -- Comma-separated permission names (`createSite,updateSite`).
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id, created_at);

CREATE TABLE personal_access_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX personal_access_tokens_by_user ON personal_access_tokens (user_id, created_at);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    cadence_seconds BIGINT CHECK (cadence_seconds > 0),
    paused BIGINT NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'up', 'down')),
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    last_checked_at BIGINT,
    next_check_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sites_by_team ON sites (team_id, created_at, id);
CREATE INDEX sites_due ON sites (next_check_at) WHERE paused = 0;

CREATE TABLE check_runs (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'up', 'down')),
    queued_at BIGINT NOT NULL,
    claimed_by TEXT,
    claim_until BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    http_status BIGINT,
    latency_ms BIGINT,
    redirects BIGINT,
    final_url TEXT,
    tls_expires_at BIGINT,
    error TEXT
);
CREATE INDEX check_runs_by_site ON check_runs (site_id, queued_at, id);
CREATE INDEX check_runs_waiting ON check_runs (queued_at) WHERE status IN ('queued', 'running');

CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    cause TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT,
    first_run_id TEXT NOT NULL,
    last_run_id TEXT NOT NULL
);
CREATE INDEX issues_by_team ON issues (team_id, opened_at, id);
CREATE UNIQUE INDEX issues_one_open_per_site ON issues (site_id) WHERE status = 'open';
