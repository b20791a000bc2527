-- Mail with an HTML part and a List-Unsubscribe address; notices about a
-- token sent once each (the primary key is the claim); a user's choice to
-- get expiry warnings.
ALTER TABLE mail_queue ADD COLUMN html TEXT;
ALTER TABLE mail_queue ADD COLUMN unsubscribe TEXT;
ALTER TABLE users ADD COLUMN expiry_notices BIGINT NOT NULL DEFAULT 1;
CREATE TABLE token_notices (
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, kind)
);
