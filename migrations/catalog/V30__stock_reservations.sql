-- Stock reservations made through the bridge's ProductService.ReserveStock, one per order id (the
-- idempotency key). Reserving decrements catalog.products.stock; releasing gives the units back once.
CREATE TABLE catalog.stock_reservations (
    order_id    uuid        PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz
);

CREATE TABLE catalog.stock_reservation_lines (
    order_id         uuid    NOT NULL REFERENCES catalog.stock_reservations (order_id),
    product_id       uuid    NOT NULL REFERENCES catalog.products (id),
    quantity         integer NOT NULL CONSTRAINT stock_reservation_lines_quantity_check CHECK (quantity BETWEEN 1 AND 1000),
    -- The product's name and price when reserved: what the order is charged.
    name             text    NOT NULL,
    unit_price_cents bigint  NOT NULL,
    currency         text    NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
