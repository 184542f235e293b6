-- Stock reservations get a state and an expiry, products a revision, and the catalog version one owner.
--
-- A reservation is `held` from ReserveStock until the orders component writes the order, which commits it in
-- the same statement (`committed`); a cancellation releases it in the same statement as the cancel
-- (`released`). A `held` reservation whose order never appeared (the write failed, the component was killed)
-- is released by the bridge's sweeper once `expires_at` has passed. Its lines move into the row (`lines`,
-- jsonb) so that reserving again for a released order id replaces them in one statement.

ALTER TABLE catalog.stock_reservations
    ADD COLUMN state      text        NOT NULL DEFAULT 'held'
        CONSTRAINT stock_reservations_state_check CHECK (state IN ('held', 'committed', 'released')),
    ADD COLUMN user_id    uuid,
    ADD COLUMN lines      jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

UPDATE catalog.stock_reservations r SET lines = coalesce((
    SELECT jsonb_agg(jsonb_build_object(
               'product_id', l.product_id, 'quantity', l.quantity, 'name', l.name,
               'unit_price_cents', l.unit_price_cents, 'currency', l.currency) ORDER BY l.product_id)
    FROM catalog.stock_reservation_lines l WHERE l.order_id = r.order_id), '[]');

-- Before states existed, an unreleased reservation either belonged to a live order or had leaked.
UPDATE catalog.stock_reservations r SET state = CASE
        WHEN r.released_at IS NOT NULL THEN 'released'
        WHEN EXISTS (SELECT 1 FROM orders.orders o WHERE o.id = r.order_id AND o.status <> 'cancelled') THEN 'committed'
        -- No order, or a cancelled one that kept its units: held and already expired, so the sweeper releases it.
        ELSE 'held' END,
    expires_at = now();

DROP TABLE catalog.stock_reservation_lines;
-- Without the lines table's foreign key, a product delete asks this index whether any reservation (and so any
-- order) has the product.
CREATE INDEX stock_reservations_lines_idx ON catalog.stock_reservations USING gin (lines jsonb_path_ops);

-- The sweeper's scan: held reservations by expiry.
CREATE INDEX stock_reservations_held_idx ON catalog.stock_reservations (expires_at) WHERE state = 'held';

-- A product's revision: its ETag, and what `If-Match` compares. Every change moves it, a reservation included,
-- so an admin form read before some orders is stale (412), never a silent overwrite of their reservations.
ALTER TABLE catalog.products ADD COLUMN revision bigint NOT NULL DEFAULT 1;

CREATE FUNCTION catalog.touch_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER products_touch BEFORE UPDATE ON catalog.products
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION catalog.touch_product();

-- The catalog version (part of every listing cache key) has one writer: these triggers, after any statement
-- that changed a product or a category. Statements that change nothing do not move it.
CREATE FUNCTION catalog.bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE catalog.version SET value = value + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER products_version_insert AFTER INSERT ON catalog.products
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
CREATE TRIGGER products_version_update AFTER UPDATE ON catalog.products
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
CREATE TRIGGER products_version_delete AFTER DELETE ON catalog.products
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
CREATE TRIGGER categories_version_insert AFTER INSERT ON catalog.categories
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
CREATE TRIGGER categories_version_update AFTER UPDATE ON catalog.categories
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
CREATE TRIGGER categories_version_delete AFTER DELETE ON catalog.categories
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version();
