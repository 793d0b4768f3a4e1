-- No shipyard:no-transaction header: the runner wraps this in a transaction, where CONCURRENTLY fails.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);
