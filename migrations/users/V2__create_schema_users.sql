-- Schema `users`: user accounts of the users component.
-- Each service owns exactly one schema and never reads another's tables.
CREATE SCHEMA IF NOT EXISTS users;
