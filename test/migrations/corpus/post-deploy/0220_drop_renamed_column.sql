-- shipyard:post-deploy
-- Contract step of safe/0060: every running release reads full_name now.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users DROP COLUMN IF EXISTS name;
