-- Safe rewrite of unsafe/add_required_column.sql: old code can still INSERT without it.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text;
