-- text and varchar without a limit are binary coercible: no rewrite.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ALTER COLUMN nickname TYPE varchar;
