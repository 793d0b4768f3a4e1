-- One ALTER TABLE that adds the column with a default (so existing rows get a value) and drops the
-- default at once: the running release's INSERTs leave the column out and fail.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN tier text NOT NULL DEFAULT 'basic', ALTER COLUMN tier DROP DEFAULT;
