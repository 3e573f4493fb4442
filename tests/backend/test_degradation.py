"""Faults under light load: PostgreSQL stopped, Redis primary killed (failover), all Redis gone.

Every response is counted; 5xx are asserted, and so is the time bound Redis trouble may cost.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.backend.conftest import Instance, launcher_for, wait_for


class Load:
    """~40 req/s of reads (and a write every 10th request) from a background thread."""

    def __init__(self, inst: Instance, ids: range, writes: bool = True) -> None:
        self.inst, self.ids, self.writes = inst, ids, writes
        self.codes: Counter[int] = Counter()
        self.read_latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(5)
        with httpx.Client(base_url=self.inst.url, timeout=10, trust_env=False) as c:
            i = 0
            while not self._stop.is_set():
                pid = rng.choice(self.ids)
                t0 = time.perf_counter()
                try:
                    if self.writes and i % 10 == 9:
                        code = c.put(f"/products/{pid}", json={"price": 5.0 + i % 7}).status_code
                    else:
                        code = c.get(f"/products/{pid}").status_code
                        self.read_latencies.append(time.perf_counter() - t0)
                except httpx.HTTPError:
                    code = 0  # no answer at all counts against the instance too
                self.codes[code] += 1
                i += 1
                time.sleep(0.025)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500 or code == 0)


def test_postgres_stopped_reads_from_cache_writes_503(launch: Any, shared: Any) -> None:
    a, b = launch({}, {"l1": {"enabled": False}}, strategy="delete", pg_timeout_ms=500, l1={"ttl_s": 60})
    cached = range(1, 41)
    for pid in cached:
        assert a.get(pid).status_code == 200
    pg = shared.node("postgres")
    pg.stop()
    try:
        with Load(a, cached, writes=False) as load:
            time.sleep(1.0)
        assert load.server_errors == 0 and load.codes[200] > 20, load.codes
        assert all(b.get(pid).headers["X-Cache"] == "l2" for pid in cached)  # L2 still serves
        t0 = time.monotonic()
        assert a.get(1500).status_code == 503  # not cached: nothing to serve it from
        assert a.http.put("/products/1", json={"price": 1}).status_code == 503
        assert a.http.post("/orders", json={"product_id": 1, "qty": 1}).status_code == 503
        assert time.monotonic() - t0 < 6.0
    finally:
        pg.start()
        pg.wait_ready(30)
    # The pool reconnects by itself.
    assert wait_for(lambda: a.http.put("/products/1", json={"price": 2}).status_code == 200, timeout=10, interval=0.2)
    assert a.get(1500).status_code == 200


def test_redis_failover_then_redis_gone(topology_factory: Any, tmp_path: Path) -> None:
    topo = topology_factory(products=500)
    started: list[Instance] = []
    launch = launcher_for(topo, tmp_path, started)
    try:
        (a,) = launch(strategy="delete", l1={"enabled": False}, redis_timeout_ms=200)
        ep = topo.endpoints
        assert a.health()["redis_primary"] == ep.redis["redis-1"]
        with Load(a, range(1, 201)) as load:
            time.sleep(0.5)
            topo.node("redis-1").kill()
            moved = wait_for(lambda: a.health()["redis_primary"] == ep.redis["redis-2"], timeout=20, interval=0.2)
            assert moved, a.health()
            time.sleep(0.5)
        assert load.server_errors == 0, load.codes
        # No read waited on Redis much beyond the Redis timeout (plus a DB read).
        assert max(load.read_latencies) < 1.0, max(load.read_latencies)

        # Fills land on the new primary again: L2 hits are back, without a restart.
        def l2_hit() -> bool:
            a.get(300)
            return a.get(300).headers["X-Cache"] == "l2"

        assert wait_for(l2_hit, timeout=10, interval=0.2)
        assert a.metric("redis_errors_total") >= 1

        # Then Redis is gone entirely: PostgreSQL serves, within the time bound.
        topo.node("redis-2").kill()
        with Load(a, range(1, 201)) as gone:
            time.sleep(2.0)
        assert gone.server_errors == 0 and gone.codes[200] > 30, gone.codes
        assert max(gone.read_latencies) < 0.5, max(gone.read_latencies)
        assert a.get(7).headers["X-Cache"] == "miss"
    finally:
        for inst in started:
            inst.stop()
