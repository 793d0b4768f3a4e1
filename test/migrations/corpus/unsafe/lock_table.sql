SET lock_timeout = '5s';
SET statement_timeout = '60s';

LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;
UPDATE users SET email = lower(email) WHERE email <> lower(email);
