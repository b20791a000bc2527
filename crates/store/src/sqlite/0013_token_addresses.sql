-- Where a token was last used from, and the address ranges it may be used from
-- (space-separated CIDR blocks; empty: anywhere).
ALTER TABLE api_tokens ADD COLUMN last_used_ip TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_user_agent TEXT;
ALTER TABLE api_tokens ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';
