-- Schema `catalog`: products, categories and stock of the products component.
-- Each service owns exactly one schema and never reads another's tables.
CREATE SCHEMA IF NOT EXISTS catalog;
