SET lock_timeout = '5s';
SET statement_timeout = '60s';
-- shipyard:post-deploy

ALTER TABLE users DROP COLUMN legacy;
