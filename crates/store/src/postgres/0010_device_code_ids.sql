-- Device codes carry their authorization's id (`{id}.{secret}`): a poll
-- finds its row by the primary key and matches the code's hash there, so
-- the hash needs no index of its own (each random index costs an insert a
-- page). Authorizations begun before this migration have codes without an
-- id: their polls are answered `invalid_grant` and the login starts again.
ALTER TABLE device_authorizations DROP CONSTRAINT device_authorizations_device_code_hash_key;
