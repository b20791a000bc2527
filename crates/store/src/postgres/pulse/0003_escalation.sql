-- When an issue was escalated: open longer than its team's
-- `escalation_minutes`.
ALTER TABLE issues ADD COLUMN escalated_at BIGINT;
CREATE INDEX issues_open ON issues (opened_at) WHERE status = 'open' AND escalated_at IS NULL;
