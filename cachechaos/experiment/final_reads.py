"""After the load: the version the source of truth holds for every key written during the run.

The lost-write check compares acknowledged writes with these FINAL_READ records. A key is read
in SQL only where the table and its columns are known (the local topology's own schema, or an
external topology's explicit `postgres.tables`); otherwise through the backend's HTTP contract,
asking it to bypass its caches and, for a service that ignores that, after a quiescence period
longer than its longest cache TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
import psycopg
from numpy.typing import NDArray

from cachechaos.adapters.model import AdapterSpec
from cachechaos.history import HistoryWriter, Op
from cachechaos.history.columns import file_chunks, history_files
from cachechaos.history.format import PRODUCT_WRITES
from cachechaos.runtime.external_spec import AttachedTopologySpec, VersionTable
from cachechaos.runtime.target import PostgresAdmin, Target
from cachechaos.runtime.topology import TopologySpec
from cachechaos.store.rundir import HISTORY_DIR

# FINAL_READ records say in their layer field which kind of row the key is.
CART_TABLE, PRODUCT_TABLE = 1, 2
Kind = Literal["products", "carts"]
LAYER: dict[Kind, int] = {"carts": CART_TABLE, "products": PRODUCT_TABLE}
HTTP_PATH: dict[Kind, str] = {"carts": "/carts/{}", "products": "/products/{}"}
# The contract's optional bypass of every cache layer (docs/backend-contract.md).
BYPASS = {"Cache-Control": "no-cache"}
HTTP_WORKERS = 8
# A read the service could not answer (no response, 5xx) is tried again for this long: right after
# a fault is healed a backend may still be backing off from its store (the split brain's new primary
# refuses cache fills until a replica attaches, which trips the sample backend's Redis backoff).
RETRY_FOR_S, RETRY_EVERY_S = 10.0, 0.5
_CART_WRITE = int(Op.CART_WRITE)
_PRODUCT_WRITE = np.zeros(256, dtype=bool)  # by op byte: a write of a product's version
_PRODUCT_WRITE[[int(op) for op in PRODUCT_WRITES]] = True

# The sample backend's schema: the local runtime seeds it, so its tables are known.
OWN_TABLES: dict[Kind, VersionTable] = {
    "products": VersionTable(table="products", key="id", version="version"),
    "carts": VersionTable(table="carts", key="user_id", version="version"),
}


@dataclass(frozen=True)
class FinalReadPlan:
    """How the final reads reach the source of truth."""

    backend: str | None                                        # base URL for reads through the contract
    dsn: str | None = None
    sql: dict[Kind, VersionTable] = field(default_factory=dict)  # kinds read in SQL; the rest over HTTP
    quiescence_s: float = 0.0
    adapter: AdapterSpec | None = None                         # reads through the topology's adapter

    def can_read(self, kind: Kind) -> bool:
        """False when the adapter maps no read of this kind of row (its writes go unjudged)."""
        if self.adapter is None:
            return True
        from cachechaos.adapters.final_reads import can_read

        return can_read(self.adapter, kind)

    def describe(self, kind: Kind, count: int) -> str:
        """How `count` keys of `kind` are read (for the journal and the summary)."""
        if self.adapter is not None and kind not in self.sql:
            from cachechaos.adapters.final_reads import describe

            return f"{count} keys {describe(self.adapter, kind)} after {self.quiescence_s:g} s without load"
        if kind in self.sql:
            t = self.sql[kind]
            return f"{count} keys in SQL (SELECT {t.key}, {t.version} FROM {t.table})"
        return (f"{count} keys over HTTP (GET {self.backend}{HTTP_PATH[kind].format('{id}')}, Cache-Control: no-cache)"
                f" after {self.quiescence_s:g} s without load")


def plan_for(spec: TopologySpec | AttachedTopologySpec, target: Target) -> FinalReadPlan:
    """The plan for a topology spec (local, or one attached: external, compose) and its running target."""
    backend = next(iter(target.endpoints.backends.values()), None)
    dsn = target.postgres_admin_dsn() if isinstance(target, PostgresAdmin) else None
    if isinstance(spec, AttachedTopologySpec):
        sql: dict[Kind, VersionTable] = dict(spec.postgres.tables) if spec.postgres else {}
        if spec.adapter is not None and spec.adapter.derives_versions:
            sql = {}  # a table holds no tags: the values are read back through the adapter
        return FinalReadPlan(backend, dsn, sql, spec.quiescence_s(), spec.adapter)
    # Carts kept only in Redis are not in PostgreSQL: the backend reads them from their store.
    redis_carts = spec.backends.config.get("cart_store") == "redis" and backend is not None
    own = {kind: t for kind, t in OWN_TABLES.items() if not (kind == "carts" and redis_carts)}
    return FinalReadPlan(backend, dsn, own, 0.0)


def written_keys(run_dir: Path) -> dict[Kind, list[int]]:
    """The keys of every acknowledged write, per kind: read a chunk of the history files at a time
    (a Record per operation would not fit in memory on a run of tens of millions)."""
    keys: dict[Kind, list[NDArray[np.int64]]] = {"carts": [], "products": []}
    for path in history_files(run_dir):
        for chunk in file_chunks(path):
            ok = (chunk["status"] >= 200) & (chunk["status"] < 300)
            keys["carts"].append(np.unique(chunk["key"][ok & (chunk["op"] == _CART_WRITE)]))
            keys["products"].append(np.unique(chunk["key"][ok & _PRODUCT_WRITE[chunk["op"]]]))
    return {kind: np.unique(np.concatenate(found)).tolist() if found else [] for kind, found in keys.items()}


def record_final_reads(run_dir: Path, plan: FinalReadPlan, sleep: Callable[[float], None] = time.sleep) -> dict[str, str]:
    """FINAL_READ records for every key written; returns, per kind of row read, how it was read."""
    keys = written_keys(run_dir)
    over_http = [kind for kind in LAYER if kind not in plan.sql and keys[kind] and plan.can_read(kind)]
    in_sql = [kind for kind in LAYER if kind in plan.sql and keys[kind]]
    if over_http and plan.quiescence_s > 0:
        sleep(plan.quiescence_s)
    writer = HistoryWriter(run_dir / HISTORY_DIR / "final.hist")
    try:
        for kind in over_http:
            if plan.backend is None:
                raise RuntimeError(f"no backend to read the written {kind} through")
            if plan.adapter is None:
                _over_http(writer, plan.backend, kind, keys[kind])
                continue
            from cachechaos.adapters.final_reads import adapter_fetch

            with adapter_fetch(plan.adapter, plan.backend, kind) as fetch:
                read_each(writer, kind, keys[kind], fetch)
        how: dict[str, str] = {kind: plan.describe(kind, len(keys[kind])) for kind in over_http + in_sql}
        if in_sql:
            try:
                if plan.dsn is None:
                    raise psycopg.OperationalError("the topology maps tables for final reads but names no PostgreSQL DSN")
                _in_sql(writer, plan.dsn, [(kind, plan.sql[kind], keys[kind]) for kind in in_sql])
            except psycopg.Error as exc:
                # No FINAL_READ records: the lost-write check says it could not judge, the run still reports.
                for kind in in_sql:
                    how[kind] += f": FAILED ({' '.join(str(exc).split())}), not judged"
    finally:
        writer.close()
    return how


def _in_sql(writer: HistoryWriter, dsn: str, reads: Iterable[tuple[Kind, VersionTable, list[int]]]) -> None:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        for kind, t, keys in reads:
            invoke = time.time()
            # Names are validated identifiers (VersionTable's patterns), never user data.
            rows: dict[int, int] = dict(conn.execute(
                f"SELECT {t.key}, {t.version} FROM {t.table} WHERE {t.key} = ANY(%s)", (keys,)
            ).fetchall())
            complete = time.time()
            for key in keys:
                # A key that vanished answers 404: every acknowledged write to it is lost.
                found = key in rows
                writer.record(invoke, complete, Op.FINAL_READ, key, int(rows.get(key, -1)), LAYER[kind],
                              200 if found else 404)


def _over_http(writer: HistoryWriter, base_url: str, kind: Kind, keys: list[int]) -> None:
    path = HTTP_PATH[kind]
    with httpx.Client(base_url=base_url, timeout=5.0, headers=BYPASS) as client:
        def fetch(key: int) -> tuple[int, int]:
            response = client.get(path.format(key))
            status = response.status_code
            return status, int(response.json().get("version", -1)) if status == 200 else -1

        read_each(writer, kind, keys, fetch)


def read_each(writer: HistoryWriter, kind: Kind, keys: list[int], fetch: Callable[[int], tuple[int, int]]) -> None:
    """FINAL_READ records of `keys` read with `fetch` (key -> status, version), retrying 5xx and no answer."""
    # One deadline for the whole batch: a service that stays down costs RETRY_FOR_S, not that per key.
    deadline = time.monotonic() + RETRY_FOR_S

    def read(key: int) -> tuple[int, float, float, int, int]:
        while True:
            invoke = time.time()
            try:
                status, version = fetch(key)
            # Unreadable (the adapter's own code may raise anything): the check counts the key's writes as not judged.
            except Exception:
                status, version = 0, -1
            if (status and status < 500) or time.monotonic() >= deadline:
                return key, invoke, time.time(), version, status
            time.sleep(RETRY_EVERY_S)

    with ThreadPoolExecutor(HTTP_WORKERS, thread_name_prefix="final-read") as pool:
        for key, invoke, complete, version, status in pool.map(read, keys):
            writer.record(invoke, complete, Op.FINAL_READ, key, version, LAYER[kind], status)
