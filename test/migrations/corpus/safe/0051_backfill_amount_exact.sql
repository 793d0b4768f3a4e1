-- The backfill of 0050, after its ALTER TABLE committed.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

UPDATE users SET amount_exact = amount WHERE amount_exact IS NULL AND amount IS NOT NULL;
