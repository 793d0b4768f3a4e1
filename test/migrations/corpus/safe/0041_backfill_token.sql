-- The backfill of 0040 in a migration of its own: no DDL lock is held while it runs (one batch here;
-- a big table takes several such migrations, or a job).
SET lock_timeout = '5s';
SET statement_timeout = '60s';

UPDATE users SET token = gen_random_uuid() WHERE id IN (SELECT id FROM users WHERE token IS NULL LIMIT 1000);
