-- Safe rewrite of unsafe/set_not_null.sql, step 1: instant, checks only new rows.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
