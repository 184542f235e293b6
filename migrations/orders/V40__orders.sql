-- Orders, their lines (name and price as they were when reserved), idempotency keys, and the transactional
-- outbox the bridge relays to Kafka. An order, its items, its outbox event and its idempotency key are
-- written by one statement, so none exists without the others.
CREATE TABLE orders.orders (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL,
    status      text        NOT NULL CONSTRAINT orders_status_check CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    total_cents bigint      NOT NULL CONSTRAINT orders_total_check CHECK (total_cents >= 0),
    currency    text        NOT NULL CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Listing: a user's orders, or all orders by status, newest first.
CREATE INDEX orders_user_created_idx ON orders.orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders.orders (status, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders.orders (created_at DESC, id DESC);

CREATE TABLE orders.order_items (
    order_id         uuid    NOT NULL REFERENCES orders.orders (id),
    product_id       uuid    NOT NULL,
    name             text    NOT NULL,
    unit_price_cents bigint  NOT NULL CONSTRAINT order_items_price_check CHECK (unit_price_cents >= 0),
    quantity         integer NOT NULL CONSTRAINT order_items_quantity_check CHECK (quantity BETWEEN 1 AND 1000),
    PRIMARY KEY (order_id, product_id)
);

-- One row per (user, Idempotency-Key): the hash of the request it answered and the order it created.
CREATE TABLE orders.idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    order_id     uuid        NOT NULL REFERENCES orders.orders (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE TABLE orders.outbox (
    id           uuid        PRIMARY KEY,
    aggregate_id uuid        NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unpublished_idx ON orders.outbox (created_at) WHERE published_at IS NULL;
