-- shipyard:no-transaction
-- Safe rewrite of unsafe/drop_index.sql.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
