"""PostgreSQL access: the source of truth. Every query here is counted in db_queries_total."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from cachechaos.backend.metrics import Metrics

Product = dict[str, Any]

_PRODUCT_COLS = "p.id, p.name, p.category_id, p.price, p.stock, p.version, c.tag_version, p.description"
_PRODUCT_WIDTH = 8  # columns in _PRODUCT_COLS; anything RETURNING appends comes after
_PRODUCT_SQL = f"SELECT {_PRODUCT_COLS} FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = %s"
_UPDATE_PRICE_SQL = (
    "WITH old AS (SELECT id, price, version FROM products WHERE id = %s FOR UPDATE) "
    "UPDATE products p SET price = %s, version = p.version + 1, updated_at = now() "
    "FROM old, categories c WHERE p.id = old.id AND c.id = p.category_id "
    f"RETURNING {_PRODUCT_COLS}, old.price"
)
_DISCOUNT_SQL = (
    "UPDATE products p SET price = round(p.price * (100 - %s) / 100, 2), "
    "version = p.version + 1, updated_at = now() "
    "FROM categories c WHERE p.category_id = %s AND c.id = p.category_id "
    f"RETURNING {_PRODUCT_COLS}"
)
_TOP_SQL = (
    f"SELECT {_PRODUCT_COLS} FROM products p JOIN categories c ON c.id = p.category_id "
    "LEFT JOIN (SELECT product_id, count(*) AS n FROM orders GROUP BY product_id) o "
    "ON o.product_id = p.id ORDER BY o.n DESC NULLS LAST, p.id LIMIT %s"
)


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached or failed mid-query; writes answer 503."""


class NotFound(Exception):
    pass


class OutOfStock(Exception):
    pass


def product_from_row(row: tuple[Any, ...]) -> Product:
    price: Decimal = row[3]
    return {
        "id": row[0],
        "name": row[1],
        "category_id": row[2],
        "price": float(price),
        "stock": row[4],
        "version": row[5],
        "tag": row[6],
        "description": row[7],
    }


class Database:
    def __init__(self, dsn: str, pool_size: int, timeout_ms: int, metrics: Metrics) -> None:
        self._timeout = timeout_ms / 1000.0
        self._metrics = metrics
        self.pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            timeout=self._timeout,
            open=False,
            reconnect_timeout=3600.0,
            kwargs={
                "connect_timeout": max(1, round(self._timeout)),
                "autocommit": True,
                # A stuck query must not hold a pooled connection forever.
                "options": f"-c statement_timeout={max(1000, timeout_ms * 5)}",
            },
        )

    async def open(self) -> None:
        # wait=False: the instance must start (and say so on /health) even while PG is down.
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close(timeout=1.0)

    @asynccontextmanager
    async def _conn(self, kind: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        self._metrics.db_queries.labels(kind).inc()
        try:
            async with self.pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._metrics.errors.labels("db_unavailable").inc()
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc

    async def get_product(self, product_id: int) -> Product | None:
        async with self._conn("product_read") as conn:
            cur = await conn.execute(_PRODUCT_SQL, (product_id,))
            row = await cur.fetchone()
        return product_from_row(row) if row else None

    async def update_price(self, product_id: int, price: Decimal) -> tuple[Product, float] | None:
        """Returns (new row, previous price) or None when the product does not exist."""
        async with self._conn("product_write") as conn:
            cur = await conn.execute(_UPDATE_PRICE_SQL, (product_id, price))
            row = await cur.fetchone()
        if row is None:
            return None
        return product_from_row(row), float(row[_PRODUCT_WIDTH])

    async def discount_category(
        self, category_id: int, percent: Decimal, bump_tag: bool
    ) -> tuple[list[Product], int] | None:
        """One UPDATE for the whole category; None when the category does not exist."""
        async with self._conn("discount") as conn, conn.transaction():
            if bump_tag:
                cur = await conn.execute(
                    "UPDATE categories SET tag_version = tag_version + 1 WHERE id = %s RETURNING tag_version",
                    (category_id,),
                )
            else:
                cur = await conn.execute("SELECT tag_version FROM categories WHERE id = %s FOR UPDATE", (category_id,))
            tag_row = await cur.fetchone()
            if tag_row is None:
                return None
            cur = await conn.execute(_DISCOUNT_SQL, (percent, category_id))
            rows = await cur.fetchall()
        return [product_from_row(r) for r in rows], int(tag_row[0])

    async def place_order(self, product_id: int, qty: int, user_id: int | None) -> dict[str, Any]:
        """Stock check and decrement under a row lock; cached stock is never trusted."""
        async with self._conn("order") as conn, conn.transaction():
            cur = await conn.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE", (product_id,))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(product_id)
            if row[0] < qty:
                raise OutOfStock(product_id)
            cur = await conn.execute(
                "UPDATE products p SET stock = p.stock - %s, version = p.version + 1, "
                "updated_at = now() FROM categories c "
                f"WHERE p.id = %s AND c.id = p.category_id RETURNING {_PRODUCT_COLS}",
                (qty, product_id),
            )
            prow = await cur.fetchone()
            cur = await conn.execute(
                "INSERT INTO orders (user_id, product_id, qty) VALUES (%s, %s, %s) RETURNING id",
                (user_id, product_id, qty),
            )
            orow = await cur.fetchone()
        assert prow is not None and orow is not None
        product = product_from_row(prow)
        return {"order_id": orow[0], "product": product}

    async def top_products(self, n: int) -> list[Product]:
        async with self._conn("warmup") as conn:
            cur = await conn.execute(_TOP_SQL, (n,))
            rows = await cur.fetchall()
        return [product_from_row(r) for r in rows]

    async def get_products(self, ids: list[int]) -> dict[int, Product]:
        if not ids:
            return {}
        async with self._conn("product_read_many") as conn:
            cur = await conn.execute(
                f"SELECT {_PRODUCT_COLS} FROM products p JOIN categories c "
                "ON c.id = p.category_id WHERE p.id = ANY(%s)",
                (ids,),
            )
            rows = await cur.fetchall()
        return {r[0]: product_from_row(r) for r in rows}

    async def get_cart(self, user_id: int) -> dict[str, Any]:
        async with self._conn("cart_read") as conn:
            cur = await conn.execute("SELECT items, version FROM carts WHERE user_id = %s", (user_id,))
            row = await cur.fetchone()
        if row is None:
            return {"user_id": user_id, "items": [], "version": 0}
        return {"user_id": user_id, "items": row[0], "version": row[1]}

    async def put_cart(self, user_id: int, items: list[Any]) -> dict[str, Any]:
        async with self._conn("cart_write") as conn:
            cur = await conn.execute(
                "INSERT INTO carts (user_id, items) VALUES (%s, %s::jsonb) "
                "ON CONFLICT (user_id) DO UPDATE SET items = excluded.items, "
                "version = carts.version + 1, updated_at = now() RETURNING items, version",
                (user_id, json.dumps(items)),
            )
            row = await cur.fetchone()
        assert row is not None
        return {"user_id": user_id, "items": row[0], "version": row[1]}
