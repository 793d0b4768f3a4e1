-- The ALTER TABLE's ACCESS EXCLUSIVE lock is held until this migration commits, i.e. through the UPDATE.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text;
UPDATE users SET full_name = name WHERE full_name IS NULL;
