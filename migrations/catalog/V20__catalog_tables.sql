-- The catalog of the products component: categories, products and the catalog version.
--
-- Constraint and index names are part of the API contract: components/products/src/error.rs maps each
-- of them to a 409 or a 422 field error. Rename one only together with that mapping.

-- Case-insensitive substring search on product names (`lower(name) LIKE '%...%'`) uses a trigram index.
-- pg_trgm is a trusted extension (Postgres 13+), so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE catalog.categories (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    slug        text        NOT NULL,
    parent_id   uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_slug_key UNIQUE (slug),
    CONSTRAINT categories_parent_fkey FOREIGN KEY (parent_id) REFERENCES catalog.categories (id),
    CONSTRAINT categories_name_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT categories_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    CONSTRAINT categories_parent_check CHECK (parent_id <> id)
);
-- Names are unique regardless of case ("Books" and "books" are the same category).
CREATE UNIQUE INDEX categories_name_key ON catalog.categories (lower(name));
CREATE INDEX categories_parent_idx ON catalog.categories (parent_id);

CREATE TABLE catalog.products (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    sku          text        NOT NULL,
    name         text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    category_id  uuid,
    -- Money is an integer amount of the currency's minor unit (cents) with its ISO 4217 code.
    price_cents  bigint      NOT NULL,
    currency     text        NOT NULL,
    stock        integer     NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_sku_key UNIQUE (sku),
    CONSTRAINT products_category_fkey FOREIGN KEY (category_id) REFERENCES catalog.categories (id),
    CONSTRAINT products_sku_check CHECK (sku ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'),
    CONSTRAINT products_name_check CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT products_description_check CHECK (char_length(description) <= 5000),
    CONSTRAINT products_price_check CHECK (price_cents >= 0),
    CONSTRAINT products_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT products_stock_check CHECK (stock >= 0)
);

-- Filters: name substring (trigram), category, and the keyset orders of the public listing (active only).
CREATE INDEX products_name_trgm_idx ON catalog.products USING gin (lower(name) gin_trgm_ops);
CREATE INDEX products_category_idx ON catalog.products (category_id);
CREATE INDEX products_price_idx ON catalog.products (price_cents, id) WHERE active;
CREATE INDEX products_name_sort_idx ON catalog.products ((lower(name) COLLATE "C"), id) WHERE active;
CREATE INDEX products_created_idx ON catalog.products (created_at, id) WHERE active;

-- One counter that every catalog write bumps in the same statement as the write. Cache keys include it,
-- so a write makes every cached listing unreachable at once, without scanning Redis for keys.
CREATE TABLE catalog.version (
    singleton boolean PRIMARY KEY DEFAULT true,
    value     bigint  NOT NULL,
    CONSTRAINT version_singleton_check CHECK (singleton)
);
INSERT INTO catalog.version (singleton, value) VALUES (true, 1);
