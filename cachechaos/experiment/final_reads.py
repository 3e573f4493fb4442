"""After the load: the version the source of truth holds for every key written during the run.

The lost-write check compares acknowledged writes with these FINAL_READ records.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from cachechaos.experiment.rundir import HISTORY_DIR
from cachechaos.history import HistoryWriter, Op, read_history

# FINAL_READ records say in their layer field which table the key is in.
CART_TABLE, PRODUCT_TABLE = 1, 2


def record_final_reads(run_dir: Path, dsn: str) -> int:
    records = read_history(run_dir)
    carts = sorted({r.key for r in records if r.op == Op.CART_WRITE and r.ok})
    products = sorted({r.key for r in records if r.op in (Op.WRITE, Op.DISCOUNT_WRITE) and r.ok})
    writer = HistoryWriter(run_dir / HISTORY_DIR / "final.hist")
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            for table, key_column, keys, layer in (
                ("carts", "user_id", carts, CART_TABLE), ("products", "id", products, PRODUCT_TABLE)
            ):
                if not keys:
                    continue
                invoke = time.time()
                rows = dict(conn.execute(
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
