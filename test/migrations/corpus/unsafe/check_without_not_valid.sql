SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD CONSTRAINT users_amount_positive CHECK (amount >= 0);
