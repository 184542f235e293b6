-- The two statements of every order placement as functions. Spin's Postgres client prepares each statement
-- anew and closes it after one use, so Postgres parsed and planned these two long statements for every
-- order (~0.4 ms of its CPU each, more than running them). PL/pgSQL keeps the plans of a function's
-- statements for the life of the connection, and Spin pools its connections. Each body is the statement
-- the orders component sent before, unchanged in what it reads, writes and returns.
--
-- Both functions use the generic plan from their first call (`plan_cache_mode = force_generic_plan`), so no
-- call plans (the point of the functions) and the plan the orders component's tests check is the one that
-- runs (it reads by key). A cached plan lasts as long as its connection: Postgres plans again when a table
-- it reads is analyzed, which autovacuum does as the tables grow. Measured on Spin 4.0.2 at 100 orders/s:
-- 1.9–2.7 ms of Postgres CPU per order, against 2.6–2.9 ms before this migration; with plans made while
-- the tables were empty and never analyzed since, 3.5–4.3 ms (docs/performance.md).

-- For each product of `products` (a JSON array of ids), the units `user_id` holds in orders placed in the
-- last `window_secs` seconds and not cancelled, and the seconds until the oldest of them leaves the window.
-- The customer's recent orders are found by their index and their lines by the items' primary key
-- (`order_id = ANY`), so the cost follows that customer's orders whatever the table's statistics say.
CREATE FUNCTION orders.held_units(user_id uuid, products jsonb, window_secs int8)
RETURNS TABLE (product_id uuid, units int8, frees_in_secs int8)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH recent AS (SELECT o.id, o.created_at FROM orders.orders o
           WHERE o.user_id = $1 AND o.status <> 'cancelled' AND o.created_at > now() - $3 * interval '1 second'),
         wanted AS (SELECT DISTINCT p::uuid AS product_id FROM jsonb_array_elements_text($2) AS p),
         held AS (SELECT i.product_id, i.quantity, r.created_at FROM orders.order_items i JOIN recent r ON r.id = i.order_id
           WHERE i.order_id = ANY (ARRAY(SELECT id FROM recent))
             AND i.product_id = ANY (ARRAY(SELECT product_id FROM wanted)))
    SELECT w.product_id, coalesce(sum(h.quantity), 0)::int8 AS units,
           ceil(extract(epoch FROM min(h.created_at) + $3 * interval '1 second' - now()))::int8 AS frees_in_secs
    FROM wanted w LEFT JOIN held h ON h.product_id = w.product_id
    GROUP BY w.product_id ORDER BY w.product_id;
END
$$;

-- Writes order `id` with its items (a JSON array of {product_id, name, unit_price_cents, quantity}), its
-- outbox event (`event`, whose `time` and `data.created_at` are set here) and, when `idempotency_key` is not
-- null, the key; and commits the order's held stock reservation. All or nothing: the order is written only
-- when this statement moved its reservation from held to committed. One row: `orders` is 1 when written;
-- `existed` says an order with this id was there before; `written_at` (RFC 3339) and `written_us` are the
-- statement's clock.
CREATE FUNCTION orders.place_order(
    id uuid, user_id uuid, total_cents int8, currency text, items jsonb, event_id uuid, event jsonb,
    idempotency_key text, request_hash bytea)
RETURNS TABLE (orders int8, existed bool, written_at text, written_us int8)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    -- `text` is the API's timestamp format, as kit's `rfc3339!` macro writes it.
    WITH clock AS (SELECT now() AS at,
                   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS text),
         committed AS (UPDATE catalog.stock_reservations SET state = 'committed', updated_at = now()
           WHERE order_id = $1 AND state = 'held' RETURNING order_id),
         new_order AS (INSERT INTO orders.orders (id, user_id, status, total_cents, currency, created_at, updated_at)
           SELECT $1, $2, 'confirmed', $3, $4, at, at FROM clock WHERE EXISTS (SELECT 1 FROM committed)
           ON CONFLICT (id) DO NOTHING RETURNING id),
         items AS (INSERT INTO orders.order_items (order_id, product_id, name, unit_price_cents, quantity)
           SELECT n.id, x.product_id, x.name, x.unit_price_cents, x.quantity FROM new_order n,
           jsonb_to_recordset($5) AS x(product_id uuid, name text, unit_price_cents bigint, quantity integer)
           RETURNING 1),
         outbox AS (INSERT INTO orders.outbox (id, aggregate_id, event_type, payload)
           SELECT $6, n.id, $7 ->> 'type',
             jsonb_set(jsonb_set($7, '{time}', to_jsonb(c.text)), '{data,created_at}', to_jsonb(c.text))
           FROM new_order n, clock c RETURNING 1),
         idempotency AS (INSERT INTO orders.idempotency_keys (user_id, key, request_hash, order_id)
           SELECT $2, $8, $9, n.id FROM new_order n WHERE $8 IS NOT NULL RETURNING 1)
    SELECT (SELECT count(*) FROM new_order)::int8 AS orders,
           EXISTS (SELECT 1 FROM orders.orders WHERE id = $1) AS existed, c.text AS written_at,
           (extract(epoch FROM c.at) * 1000000)::int8 AS written_us
    FROM clock c;
END
$$;
