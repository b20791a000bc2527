-- Content under a chatbot that is a list of records with JSON fields:
-- knowledge sources, personas, instructions, starters, follow-ups, leads.
CREATE TABLE chatbot_items (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    chatbot_id TEXT NOT NULL REFERENCES chatbots (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chatbot_items_by_chatbot ON chatbot_items (chatbot_id, kind, created_at, id);
