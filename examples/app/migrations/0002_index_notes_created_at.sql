-- shipyard:no-transaction
-- (The marker above must stay the first line: CREATE INDEX CONCURRENTLY cannot run in a transaction, so
-- the runner executes this file statement by statement and records it only after the last one.)
-- Builds the index behind GET /notes without blocking writes. An interrupted concurrent build leaves an
-- INVALID index that IF NOT EXISTS would keep, so drop any leftover first: the file is safe to re-run.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS notes_created_at_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_created_at_idx ON notes (created_at DESC, id DESC);
