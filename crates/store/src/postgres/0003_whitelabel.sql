-- The deprecated v0 API: whitelabel customers, their brands and brand
-- users, and v0 API keys (UUID-shaped, stored only as SHA-256 hashes). A key
-- belongs to a user or to a brand user; each has at most one, so issuing a
-- new key replaces the old.
CREATE TABLE whitelabel_accounts (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    since BIGINT NOT NULL
);
CREATE TABLE brands (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX brands_by_account ON brands (account_id);
CREATE TABLE brand_users (
    id TEXT PRIMARY KEY,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT,
    message_quota BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (brand_id, email)
);
CREATE TABLE v0_api_keys (
    key_hash BYTEA PRIMARY KEY,
    hint TEXT NOT NULL,
    user_id TEXT UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    brand_user_id TEXT UNIQUE REFERENCES brand_users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (brand_user_id IS NULL))
);
