-- Schema `analytics`: sales facts of the analytics component.
-- Each service owns exactly one schema and never reads another's tables.
CREATE SCHEMA IF NOT EXISTS analytics;
