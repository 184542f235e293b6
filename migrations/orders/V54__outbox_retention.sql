-- The bridge deletes outbox rows published longer ago than its retention (BRIDGE_OUTBOX_RETENTION_HOURS):
-- without that the table grows by every order and cancellation forever. This index lets each pruning pass
-- find the oldest published rows without reading the table; unpublished rows are never in it.
-- Not CONCURRENTLY (refinery runs each migration in a transaction): on a large existing outbox the build
-- holds writes to it for its duration, so apply this outside peak hours there.
CREATE INDEX outbox_published_idx ON orders.outbox (published_at) WHERE published_at IS NOT NULL;
