-- Marked by its file name: *.post-deploy.sql
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS old_audit;
