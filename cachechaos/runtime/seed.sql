-- Seeded with generate_series (one statement per table, no row-by-row inserts),
-- deterministic for a given seed. Parameters: %(seed)s, %(categories)s, %(products)s,
-- %(users)s, %(stock)s, %(description_bytes)s.
SELECT setseed(%(seed)s);
INSERT INTO categories (id, name)
    SELECT g, 'category ' || g FROM generate_series(1, %(categories)s) AS g;
INSERT INTO products (id, name, category_id, price, stock, description)
    SELECT g, 'product ' || g, ((g - 1) %% %(categories)s) + 1,
           round((1 + random() * 999)::numeric, 2), %(stock)s,
           left(repeat(md5(g::text), %(description_bytes)s / 32 + 1), %(description_bytes)s)
    FROM generate_series(1, %(products)s) AS g;
INSERT INTO users (id, name)
    SELECT g, 'user ' || g FROM generate_series(1, %(users)s) AS g;
