-- shipyard:no-transaction
-- shipyard:post-deploy
-- Both markers: no-transaction must be the first line (the runner reads only that); post-deploy may
-- be anywhere in the header comment.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS old_audit;
