-- Safe rewrite of unsafe/type_change.sql: a new column the app dual-writes; the old one goes post-deploy.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS amount_exact numeric(12, 2);
