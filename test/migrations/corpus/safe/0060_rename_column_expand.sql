-- Safe rewrite of unsafe/rename_column.sql: expand with the new name; drop the old one post-deploy.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text;
