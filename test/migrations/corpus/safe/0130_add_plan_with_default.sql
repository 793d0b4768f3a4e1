-- A constant default on a NOT NULL column: no rewrite (PostgreSQL 11+), and the running release's
-- INSERTs, which do not know the column, get the default. Its DROP DEFAULT waits for post-deploy.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS plan text NOT NULL DEFAULT 'free';
