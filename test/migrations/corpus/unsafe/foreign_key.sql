SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);
