-- Schema `orders`: orders, order items, the outbox and idempotency keys of the orders component.
-- Each service owns exactly one schema and never reads another's tables.
CREATE SCHEMA IF NOT EXISTS orders;
