-- Step 2, in its own migration: scans without blocking writes.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

UPDATE users SET email = 'unknown@example.com' WHERE email IS NULL;
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
