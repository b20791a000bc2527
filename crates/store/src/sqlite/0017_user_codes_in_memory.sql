-- The server finds most device authorizations by user code through a map
-- in its memory (`sqlite/user_codes.rs`), rebuilt from the rows marked 0
-- here when the file is opened: a random index costs each authorization a
-- page written. Rows the map has no room for are marked 1 and indexed.
-- Rows from before this migration stay indexed.
ALTER TABLE device_authorizations ADD COLUMN user_code_indexed INTEGER NOT NULL DEFAULT 1
    CHECK (user_code_indexed IN (0, 1));
DROP INDEX device_authorizations_by_user_code;
CREATE INDEX device_authorizations_by_user_code ON device_authorizations (user_code, created_at)
    WHERE user_code_indexed = 1;
