SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ALTER COLUMN amount TYPE numeric(12, 2);
