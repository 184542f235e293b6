-- Schema `auth`: refresh tokens and signing-key metadata of the auth component.
-- Each service owns exactly one schema and never reads another's tables.
CREATE SCHEMA IF NOT EXISTS auth;
