SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER SCHEMA billing RENAME TO invoicing;
