-- A wider numeric(p, s) with the same scale: PostgreSQL changes the catalogue, not the rows (no
-- rewrite, no index rebuild). The old type comes from 0050: the lint replays every migration.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ALTER COLUMN amount_exact TYPE numeric(14, 2);
