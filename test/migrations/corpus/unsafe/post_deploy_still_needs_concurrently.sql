-- shipyard:post-deploy
-- The marker allows contract changes, not dangerous locks.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE INDEX users_name_idx ON users (name);
