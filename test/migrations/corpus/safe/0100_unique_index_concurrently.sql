-- shipyard:no-transaction
-- Safe rewrite of unsafe/unique_constraint.sql, step 1.
SET lock_timeout = '5s';
SET statement_timeout = 0;

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_token_key_idx ON users (token);
