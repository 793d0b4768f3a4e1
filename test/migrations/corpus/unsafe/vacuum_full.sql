-- shipyard:no-transaction
SET lock_timeout = '5s';
SET statement_timeout = '60s';

VACUUM (FULL, ANALYZE) users;
