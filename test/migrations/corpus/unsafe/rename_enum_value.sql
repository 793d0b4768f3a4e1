SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TYPE user_status RENAME VALUE 'inactive' TO 'suspended';
