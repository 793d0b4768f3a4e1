SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
