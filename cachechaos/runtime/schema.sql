-- The marketplace: the source of truth every cache in front of it must agree with.
-- `version` grows by one with every committed change of a row; that is what
-- makes staleness decidable from the outside.
CREATE TABLE categories (
    id          integer PRIMARY KEY,
    name        text    NOT NULL,
    tag_version bigint  NOT NULL DEFAULT 1
);
CREATE TABLE products (
    id          bigint         PRIMARY KEY,
    name        text           NOT NULL,
    category_id integer        NOT NULL REFERENCES categories(id),
    price       numeric(12, 2) NOT NULL,
    stock       integer        NOT NULL,
    version     bigint         NOT NULL DEFAULT 1,
    updated_at  timestamptz    NOT NULL DEFAULT now(),
    -- Padding that sets the size of a cached product (postgres.description_bytes):
    -- memory-pressure experiments need a dataset that dwarfs Redis's own overhead.
    description text           NOT NULL DEFAULT ''
);
CREATE INDEX products_category_idx ON products(category_id);
CREATE TABLE users (
    id   bigint PRIMARY KEY,
    name text   NOT NULL
);
CREATE TABLE carts (
    user_id    bigint      PRIMARY KEY,
    items      jsonb       NOT NULL DEFAULT '[]',
    version    bigint      NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
    id         bigserial   PRIMARY KEY,
    user_id    bigint,
    product_id bigint      NOT NULL REFERENCES products(id),
    qty        integer     NOT NULL CHECK (qty > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
