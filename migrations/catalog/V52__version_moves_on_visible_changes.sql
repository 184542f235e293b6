-- The catalog version (part of every listing cache key) moves only when what a listing can select or order
-- by changes: any insert or delete, any update of a category, and an update of a product that changes
-- anything but its stock count — or moves the stock across zero (in stock <-> sold out, which `in_stock`
-- filters on). A reservation or a release that leaves the product in stock keeps every cached listing: the
-- stock count a cached read shows lags by at most the entry's TTL (docs/catalog.md), and placing orders no
-- longer empties the cache.

CREATE FUNCTION catalog.bump_version_on_visible_product_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.stock > 0) IS DISTINCT FROM (n.stock > 0)
           OR (to_jsonb(o) - ARRAY['stock', 'revision', 'updated_at'])
              IS DISTINCT FROM (to_jsonb(n) - ARRAY['stock', 'revision', 'updated_at'])
    ) THEN
        UPDATE catalog.version SET value = value + 1;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER products_version_update ON catalog.products;
CREATE TRIGGER products_version_update AFTER UPDATE ON catalog.products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.bump_version_on_visible_product_change();
