SET statement_timeout = '60s';

ALTER TABLE users ADD COLUMN nickname text;
