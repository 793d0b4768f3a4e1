-- shipyard:post-deploy
-- Every running release writes users.plan itself now (safe/0130 added it with a default).
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;
