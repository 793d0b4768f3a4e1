SET lock_timeout = '5s';
SET statement_timeout = '60s';

CLUSTER users USING users_pkey;
