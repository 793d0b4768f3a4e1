-- The backfill of 0060, after its ALTER TABLE committed.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

UPDATE users SET full_name = name WHERE full_name IS NULL;
