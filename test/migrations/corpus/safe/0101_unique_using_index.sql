-- Step 2: the constraint reuses the index, no build under lock.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD CONSTRAINT users_token_key UNIQUE USING INDEX users_token_key_idx;
