-- Outgoing mail, queued in the transaction that causes it and sent by a
-- delivery worker with retries. A body may hold `{link}`, replaced when the
-- message is sent by a fresh single-use link of `link_kind`, so no link
-- secret is ever stored here.
CREATE TABLE mail_queue (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link_kind TEXT,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    failed_at INTEGER
) STRICT;
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE failed_at IS NULL;
