-- No shipyard:no-transaction header: the runner wraps even a one-statement file in a transaction.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
