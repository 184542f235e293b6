-- Sales facts of the analytics component, built from order events. Every event is stored once, keyed by
-- its CloudEvents id (redelivery changes nothing); an order-created event adds one fact per order line, an
-- order-cancelled event marks the order cancelled, and the reports leave cancelled orders out (so the two
-- events may arrive in either order).
CREATE TABLE analytics.events (
    event_id    uuid        PRIMARY KEY,
    event_type  text        NOT NULL,
    order_id    uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE analytics.order_lines (
    event_id      uuid        NOT NULL REFERENCES analytics.events (event_id),
    order_id      uuid        NOT NULL,
    product_id    uuid        NOT NULL,
    quantity      integer     NOT NULL CONSTRAINT order_lines_quantity_check CHECK (quantity > 0),
    revenue_cents bigint      NOT NULL CONSTRAINT order_lines_revenue_check CHECK (revenue_cents >= 0),
    currency      text        NOT NULL,
    ordered_at    timestamptz NOT NULL,
    PRIMARY KEY (event_id, product_id)
);
-- Both reports scan a time range of one currency; the covering columns avoid heap reads.
CREATE INDEX order_lines_currency_ordered_idx
    ON analytics.order_lines (currency, ordered_at) INCLUDE (order_id, product_id, quantity, revenue_cents);

CREATE TABLE analytics.cancelled_orders (
    order_id     uuid        PRIMARY KEY,
    event_id     uuid        NOT NULL REFERENCES analytics.events (event_id),
    cancelled_at timestamptz NOT NULL
);
