-- The per-customer units cap moves into the reservation. Until now the orders component counted a customer's
-- committed units in Postgres and the units of placements still in flight in Redis (two scripts and one query
-- per order, and the cap open to races whenever Redis was down). A reservation already is the claim: it is
-- made before the order is written, names its customer, and is released when its order is cancelled or never
-- written. So `catalog.reserve_stock` counts the customer's held and committed reservations itself, under a
-- per-customer lock, and refuses a reservation that would pass the cap. `orders.held_units` (V53) is no longer
-- called; it stays until the next release so that orders components of the previous one keep working while
-- they are replaced.

-- A reservation's `created_at` is when its current lines were reserved: reserving again for a released order
-- id sets it anew (below). The cap's window counts from it.

-- Reservations made before V51 named no customer; their orders do.
UPDATE catalog.stock_reservations r SET user_id = o.user_id
FROM orders.orders o
WHERE r.user_id IS NULL AND o.id = r.order_id;

-- What the cap reads: a customer's live reservations, newest last.
CREATE INDEX stock_reservations_user_idx ON catalog.stock_reservations (user_id, created_at)
    WHERE state <> 'released';

-- Reserves every line of `wanted` (a JSON array of {product_id, quantity}, product ids distinct) or none for
-- order `p_order_id`, held for `hold_ms`; the statement `reservations::reserve` sent before, unchanged, after
-- the cap. With a customer and `max_units`, the reservation is refused (`over_cap` set, nothing reserved)
-- when the customer's held and committed reservations made in the last `window_secs` seconds, with this
-- one, would hold more than `max_units` units of a product. `over_cap` names the first such product (in id
-- order) and `retry_after_secs`: until the oldest committed reservation of it leaves the window when the
-- committed ones alone are too many, otherwise 2 (held ones end within seconds: written or released).
--
-- One customer's reservations take turns on an advisory lock held until the calling transaction ends, and in
-- PL/pgSQL each statement after it reads a snapshot taken after the lock, so each sees every reservation
-- committed before it: concurrent placements cannot pass the cap together. An order id that already holds
-- a reservation is answered without the cap (an idempotent repeat takes nothing).
CREATE FUNCTION catalog.reserve_stock(
    p_order_id uuid, p_user_id uuid, wanted jsonb, hold_ms int8, max_units int8, window_secs int8)
RETURNS TABLE (claimed_lines jsonb, existing_lines jsonb, over_cap jsonb, availability jsonb)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    refusal jsonb;
BEGIN
    IF $2 IS NOT NULL AND $5 IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('catalog.reserve_stock/' || $2::text, 0));
        IF NOT EXISTS (SELECT 1 FROM catalog.stock_reservations r WHERE r.order_id = $1 AND r.state <> 'released') THEN
            SELECT jsonb_build_object('product_id', u.product_id, 'retry_after_secs',
                       CASE WHEN u.committed + u.quantity > $5
                            THEN greatest(1, ceil(extract(epoch FROM u.oldest + $6 * interval '1 second' - now())))
                            ELSE 2 END::int8)
            INTO refusal
            FROM (SELECT w.product_id, w.quantity,
                         coalesce(sum(h.quantity) FILTER (WHERE h.state = 'committed'), 0) AS committed,
                         coalesce(sum(h.quantity), 0) AS live,
                         min(h.created_at) FILTER (WHERE h.state = 'committed') AS oldest
                  FROM jsonb_to_recordset($3) AS w(product_id uuid, quantity integer)
                  LEFT JOIN (SELECT l.product_id, l.quantity, r.state, r.created_at
                             FROM catalog.stock_reservations r,
                                  jsonb_to_recordset(r.lines) AS l(product_id uuid, quantity integer)
                             WHERE r.user_id = $2 AND r.state <> 'released'
                               AND r.created_at > now() - $6 * interval '1 second') h
                         ON h.product_id = w.product_id
                  GROUP BY w.product_id, w.quantity) u
            WHERE u.live + u.quantity > $5
            ORDER BY u.product_id
            LIMIT 1;
            IF refusal IS NOT NULL THEN
                RETURN QUERY SELECT NULL::jsonb, NULL::jsonb, refusal, '[]'::jsonb;
                RETURN;
            END IF;
        END IF;
    END IF;

    -- `existing` is read (and locked) first: an order id that holds units answers them and locks no product.
    -- `locked` reads each product's newest committed row under FOR UPDATE, so the verdict and the decrement
    -- see the same stock even while other orders commit.
    RETURN QUERY
    WITH wanted AS (SELECT w.product_id, w.quantity
                    FROM jsonb_to_recordset($3) AS w(product_id uuid, quantity integer)),
    existing AS (SELECT r.state, r.lines FROM catalog.stock_reservations r WHERE r.order_id = $1 FOR UPDATE),
    locked AS (SELECT p.id, p.stock, p.active, p.name, p.price_cents, p.currency, w.quantity
               FROM catalog.products p JOIN wanted w ON w.product_id = p.id
               WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.state <> 'released')
               ORDER BY p.id FOR UPDATE OF p),
    verdict AS (SELECT (SELECT count(*) FROM locked) = (SELECT count(*) FROM wanted)
                       AND coalesce(bool_and(l.active AND l.stock >= l.quantity), false) AS ok,
                       coalesce(jsonb_agg(jsonb_build_object('product_id', l.id, 'quantity', l.quantity,
                           'name', l.name, 'unit_price_cents', l.price_cents, 'currency', l.currency)
                           ORDER BY l.id), '[]') AS lines
                FROM locked l),
    claimed AS (INSERT INTO catalog.stock_reservations AS s (order_id, user_id, state, lines, expires_at)
                SELECT $1, $2, 'held', v.lines, now() + $4 * interval '1 millisecond' FROM verdict v
                WHERE v.ok AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.state <> 'released')
                ON CONFLICT (order_id) DO UPDATE SET state = 'held', user_id = EXCLUDED.user_id,
                    lines = EXCLUDED.lines, expires_at = EXCLUDED.expires_at, released_at = NULL,
                    created_at = now(), updated_at = now()
                WHERE s.state = 'released'
                RETURNING s.lines),
    taken AS (UPDATE catalog.products p SET stock = p.stock - l.quantity FROM locked l
              WHERE p.id = l.id AND EXISTS (SELECT 1 FROM claimed))
    SELECT (SELECT c.lines FROM claimed c),
           (SELECT e.lines FROM existing e WHERE e.state <> 'released'),
           NULL::jsonb,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', w.product_id, 'wanted', w.quantity,
                'in_stock', l.stock, 'active', l.active)), '[]')
            FROM wanted w LEFT JOIN locked l ON l.id = w.product_id);
END
$$;
