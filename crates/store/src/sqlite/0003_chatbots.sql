-- Chatbots get a description, an appearance (a JSON object) and an update time.
ALTER TABLE chatbots ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE chatbots ADD COLUMN appearance TEXT NOT NULL DEFAULT '{}';
ALTER TABLE chatbots ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE chatbots SET updated_at = created_at;
