-- SitePulse v1: users, teams with their plan and monitoring defaults,
-- members with team permissions, personal access tokens, sites, check
-- runs and issues. Times are UTC milliseconds since the epoch.

CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email_verified_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    max_sites INTEGER NOT NULL CHECK (max_sites >= 0),
    min_cadence_seconds INTEGER NOT NULL CHECK (min_cadence_seconds > 0),
    subscription_active INTEGER NOT NULL CHECK (subscription_active IN (0, 1)),
    cadence_seconds INTEGER NOT NULL CHECK (cadence_seconds > 0),
    failure_threshold INTEGER NOT NULL CHECK (failure_threshold > 0),
    escalation_minutes INTEGER CHECK (escalation_minutes > 0),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    -- Comma-separated permission names (`createSite,updateSite`).
    permissions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) STRICT;
CREATE INDEX team_members_by_user ON team_members (user_id, created_at);

CREATE TABLE personal_access_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
) STRICT;
CREATE INDEX personal_access_tokens_by_user ON personal_access_tokens (user_id, created_at);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    cadence_seconds INTEGER CHECK (cadence_seconds > 0),
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'up', 'down')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_checked_at INTEGER,
    next_check_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sites_by_team ON sites (team_id, created_at, id);
CREATE INDEX sites_due ON sites (next_check_at) WHERE paused = 0;

CREATE TABLE check_runs (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'up', 'down')),
    queued_at INTEGER NOT NULL,
    claimed_by TEXT,
    claim_until INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    http_status INTEGER,
    latency_ms INTEGER,
    redirects INTEGER,
    final_url TEXT,
    tls_expires_at INTEGER,
    error TEXT
) STRICT;
CREATE INDEX check_runs_by_site ON check_runs (site_id, queued_at, id);
CREATE INDEX check_runs_waiting ON check_runs (queued_at) WHERE status IN ('queued', 'running');

CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    cause TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    resolved_at INTEGER,
    first_run_id TEXT NOT NULL,
    last_run_id TEXT NOT NULL
) STRICT;
CREATE INDEX issues_by_team ON issues (team_id, opened_at, id);
CREATE UNIQUE INDEX issues_one_open_per_site ON issues (site_id) WHERE status = 'open';
