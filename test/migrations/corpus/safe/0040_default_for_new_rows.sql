-- Safe rewrite of unsafe/volatile_default.sql: no rewrite; new rows get the default, old rows are
-- backfilled by the next migration, after this one has committed and released its lock.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS token uuid;
ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();
