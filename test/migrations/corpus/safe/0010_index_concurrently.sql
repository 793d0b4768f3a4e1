-- shipyard:no-transaction
-- Safe rewrite of unsafe/index_without_concurrently.sql: builds without blocking writes.
SET lock_timeout = '5s';
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);
