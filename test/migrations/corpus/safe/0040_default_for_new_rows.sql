-- Safe rewrite of unsafe/volatile_default.sql: no rewrite; new rows get the default, old rows are backfilled.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS token uuid;
ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();
UPDATE users SET token = gen_random_uuid() WHERE id IN (SELECT id FROM users WHERE token IS NULL LIMIT 1000);
