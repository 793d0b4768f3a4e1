-- Safe rewrite of unsafe/rename_table.sql: the new name as a view while both releases run.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE VIEW people AS SELECT id, org_id, email, full_name FROM users;
