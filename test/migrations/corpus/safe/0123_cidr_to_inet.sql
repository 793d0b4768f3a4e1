-- Every cidr value is a valid inet value: binary coercible, no rewrite.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ALTER COLUMN signup_network SET DATA TYPE inet;
