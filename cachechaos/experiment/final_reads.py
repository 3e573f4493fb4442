"""After the load: the version the source of truth holds for every key written during the run.

The lost-write check compares acknowledged writes with these FINAL_READ records.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg

from cachechaos.experiment.rundir import HISTORY_DIR
from cachechaos.history import HistoryWriter, Op, read_history

# FINAL_READ records say in their layer field which table the key is in.
CART_TABLE, PRODUCT_TABLE = 1, 2


def record_final_reads(run_dir: Path, dsn: str, carts_via: str | None = None) -> int:
    """FINAL_READ records for every key written; carts through `carts_via` (a backend URL) when
    carts live in Redis, since then PostgreSQL does not hold them."""
    records = read_history(run_dir)
    carts = sorted({r.key for r in records if r.op == Op.CART_WRITE and r.ok})
    products = sorted({r.key for r in records if r.op in (Op.WRITE, Op.DISCOUNT_WRITE) and r.ok})
    writer = HistoryWriter(run_dir / HISTORY_DIR / "final.hist")
    try:
        if carts_via is not None:
            _carts_over_http(writer, carts_via, carts)
            carts = []
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            for table, key_column, keys, layer in (
                ("carts", "user_id", carts, CART_TABLE), ("products", "id", products, PRODUCT_TABLE)
            ):
                if not keys:
                    continue
                invoke = time.time()
                rows: dict[int, int] = dict(conn.execute(
                    f"SELECT {key_column}, version FROM {table} WHERE {key_column} = ANY(%s)", (keys,)
                ).fetchall())
                complete = time.time()
                for key in keys:
                    # A key that vanished answers 404: every acknowledged write to it is lost.
                    found = key in rows
                    writer.record(invoke, complete, Op.FINAL_READ, key, int(rows.get(key, -1)), layer, 200 if found else 404)
    finally:
        writer.close()
    return len(carts) + len(products)


def _carts_over_http(writer: HistoryWriter, base_url: str, users: list[int]) -> None:
    with httpx.Client(timeout=5.0) as client:
        for user in users:
            invoke = time.time()
            try:
                response = client.get(f"{base_url}/carts/{user}")
                status = response.status_code
                version = int(response.json().get("version", -1)) if status == 200 else -1
            except (httpx.HTTPError, ValueError):
                status, version = 0, -1
            writer.record(invoke, time.time(), Op.FINAL_READ, user, version, CART_TABLE, status)
