-- The schema every safe rewrite below applies to (CREATE TABLE on new tables takes no risky lock).
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS orgs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id bigint,
  email text,
  name text,
  legacy text,
  amount bigint
);

CREATE TABLE IF NOT EXISTS old_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  note text
);
