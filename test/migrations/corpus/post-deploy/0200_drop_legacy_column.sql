-- shipyard:post-deploy
-- Release N stopped reading users.legacy; this ships with release N+1.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users DROP COLUMN IF EXISTS legacy;
