"""Each read/write strategy, observed through the HTTP contract, /metrics and Redis."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from tests.backend.conftest import Launcher, pg_exec, wait_for


def test_none_always_reads_the_database(launch: Launcher, redis_primary: redis.Redis) -> None:
    (b,) = launch(strategy="none")
    for _ in range(5):
        r = b.get(3)
        assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
    assert b.db_reads() == 5
    assert b.put_price(3, 7.0)["version"] == 2
    assert b.get(3).json()["version"] == 2
    assert redis_primary.dbsize() == 0


def test_ttl_stays_stale_until_expiry(launch: Launcher) -> None:
    (b,) = launch(strategy="ttl", l1={"ttl_s": 0.5}, l2={"ttl_s": 1.5})
    assert b.get(4).json()["version"] == 1
    assert b.put_price(4, 5.0)["version"] == 2
    stale = b.get(4)
    assert stale.json()["version"] == 1 and stale.headers["X-Cache"] == "l1"
    assert b.metric("cache_invalidations_sent_total") == 0
    time.sleep(0.6)
    from_l2 = b.get(4)
    assert from_l2.json()["version"] == 1 and from_l2.headers["X-Cache"] == "l2"
    assert wait_for(lambda: b.get(4).json()["version"] == 2, timeout=2.0)


def test_delete_removes_the_key(launch: Launcher, redis_primary: redis.Redis) -> None:
    a, b = launch({}, {"l1": {"enabled": False}}, strategy="delete")
    assert a.get(6).status_code == 200
    assert redis_primary.exists("product:6") == 1
    a.put_price(6, 3.0)
    assert redis_primary.exists("product:6") == 0
    r = b.get(6)
    assert r.headers["X-Cache"] == "miss" and r.json()["version"] == 2
    assert a.metric("cache_invalidations_sent_total") == 1


def test_set_writes_the_new_value(launch: Launcher, redis_primary: redis.Redis) -> None:
    a, b = launch({}, {"l1": {"enabled": False}}, strategy="set")
    a.get(8)
    a.put_price(8, 9.99)
    stored = json.loads(redis_primary.get("product:8"))  # type: ignore[arg-type]
    assert stored["product"]["version"] == 2 and stored["product"]["price"] == 9.99
    r = b.get(8)
    assert r.headers["X-Cache"] == "l2" and r.json()["version"] == 2
    assert b.db_reads() == 0


def test_event_invalidates_every_l1_within_a_second(launch: Launcher) -> None:
    a, b = launch({}, {}, strategy="event", event={"fallback_ttl_s": 60})
    for inst in (a, b):
        inst.get(11)
        assert inst.get(11).headers["X-Cache"] == "l1"
    t0 = time.monotonic()
    version = a.put_price(11, 1.5)["version"]
    assert wait_for(lambda: b.get(11).json()["version"] == version, timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    assert a.get(11).json()["version"] == version
    assert b.metric("cache_invalidations_applied_total") >= 1
    assert b.metric("cache_invalidation_latency_seconds_count") >= 1
    assert a.metric("cache_invalidations_sent_total") == 1


def test_lease_one_fill_for_many_concurrent_misses(launch: Launcher, redis_primary: redis.Redis) -> None:
    # Single-flight off, two instances: only the lease keeps the DB at one read.
    a, b = launch(
        # max_wait_ms generous: on a loaded machine a waiter that gives up goes to the DB itself;
        # ttl_ms too: the held lease must not expire before the test resumes it (a new lease
        # would be a second DB read), and on a loaded machine that took over 2 s.
        {}, {}, strategy="lease", single_flight={"enabled": False},
        lease={"serve_stale": False, "wait_ms": 5, "max_wait_ms": 5000, "ttl_ms": 30000},
    )
    # Hold whichever request takes the lease right after its DB read, so the others
    # really arrive while it is leased (unheld, a fast fill lets them hit L2 instead).
    for inst in (a, b):
        inst.pause("product:13")
    insts = [a, b] * 20
    with ThreadPoolExecutor(len(insts)) as pool:
        futures = [pool.submit(i.get, 13) for i in insts]
        assert wait_for(lambda: a.waiting("product:13") or b.waiting("product:13"), timeout=15)
        assert wait_for(lambda: a.metric("lease_waits_total") + b.metric("lease_waits_total") >= 1, timeout=15)
        for inst in (a, b):
            inst.resume("product:13")
        results = [f.result(timeout=20) for f in futures]
    assert all(r.status_code == 200 and r.json()["version"] == 1 for r in results)
    assert a.db_reads() + b.db_reads() == 1
    assert a.metric("lease_waits_total") + b.metric("lease_waits_total") >= 1
    assert redis_primary.exists("product:13") == 1 and redis_primary.exists("lease:product:13") == 0

    a.put_price(13, 2.0)
    assert redis_primary.exists("product:13") == 0 and redis_primary.exists("stale:product:13") == 1
    assert b.get(13).json()["version"] == 2


def test_lease_serves_the_stale_value_flagged_while_leased(launch: Launcher, shared: Any) -> None:
    (a,) = launch(strategy="lease", lease={"serve_stale": True})
    (b,) = launch(strategy="lease", lease={"serve_stale": True})
    a.get(14)
    a.put_price(14, 4.0)  # keeps version 1 as the stale copy
    a.pause("product:14")
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(a.get, 14)  # takes the lease and stops before filling
        assert wait_for(lambda: a.waiting("product:14"), timeout=15)
        r = b.get(14)
        assert r.json()["version"] == 1 and r.headers.get("X-Cache-Stale") == "1"
        assert a.resume("product:14")
        assert holder.result(5).json()["version"] == 2
    assert b.get(14).json()["version"] == 2


def test_versioned_discount_without_deleting_keys(launch: Launcher, shared: Any, redis_primary: redis.Redis) -> None:
    (b,) = launch(strategy="versioned")
    ids = [row[0] for row in pg_exec(shared, "SELECT id FROM products WHERE category_id = 3")]
    for pid in ids:
        assert b.get(pid).headers["X-Cache"] == "miss"
    assert all(b.get(pid).headers["X-Cache"] == "l2" for pid in ids)
    keys_before = set(redis_primary.keys("product:*"))
    sent_before = b.metric("cache_invalidations_sent_total")

    updated = b.http.post("/categories/3/discount", json={"percent": 20}).json()["updated"]
    latest = {u["id"]: u["version"] for u in updated}
    assert b.metric("cache_invalidations_sent_total") - sent_before == 1  # one tag bump
    assert keys_before <= set(redis_primary.keys("product:*"))  # nothing deleted
    assert redis_primary.get("ctag:3") == b"2"
    for pid in ids:
        r = b.get(pid)
        assert r.json()["version"] == latest[pid]
    assert all(b.get(pid).headers["X-Cache"] == "l2" for pid in ids)

    # A single write moves the pointer; the next read fills the new key.
    v = b.put_price(ids[0], 1.0)["version"]
    assert b.get(ids[0]).json()["version"] == v


def test_direct_redis_without_sentinel_discovery(launch: Launcher, shared: Any) -> None:
    primary = shared.current_primary()
    assert primary is not None
    url = shared.endpoints.redis[primary.name]
    (b,) = launch(strategy="delete", sentinel_discovery=False, sentinels=[], redis_url=url, l1={"enabled": False})
    assert b.health()["redis_primary"] == url
    b.get(15)
    assert b.get(15).headers["X-Cache"] == "l2"
