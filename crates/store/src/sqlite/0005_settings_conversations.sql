-- Per-chatbot settings (one JSON document), and conversations with messages.
CREATE TABLE chatbot_settings (
    chatbot_id TEXT PRIMARY KEY REFERENCES chatbots (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    chatbot_id TEXT NOT NULL REFERENCES chatbots (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'archived')),
    visitor TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX conversations_by_chatbot ON conversations (chatbot_id, created_at, id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('visitor', 'assistant', 'agent')),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);
