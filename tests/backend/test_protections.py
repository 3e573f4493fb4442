"""Protections and deliberate bugs, observed through HTTP, /metrics and Redis."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis

from tests.backend.conftest import Instance, Launcher, pg_exec, wait_for


async def _burst(url: str, path: str, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10, trust_env=False) as c:
        return list(await asyncio.gather(*(c.get(path) for _ in range(n))))


def test_single_flight_one_db_query_per_instance(launch: Launcher) -> None:
    a, b = launch({}, {}, strategy="delete")
    key = "product:31"
    for inst in (a, b):
        inst.pause(key)  # hold each leader after its DB read, so all 100 really overlap
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(asyncio.run, _burst(i.url, "/products/31", 100)) for i in (a, b)]
        # Both leaders must be held before either is released: a released leader fills the
        # shared L2, and a burst that reaches the other instance only then would hit L2.
        for inst in (a, b):
            assert wait_for(lambda i=inst: i.waiting(key), timeout=15)  # type: ignore[misc]
        for inst in (a, b):
            ok = wait_for(lambda i=inst: i.metric("singleflight_joins_total") == 99, timeout=10)
            assert ok, inst.metric("singleflight_joins_total")
        for inst in (a, b):
            inst.resume(key)
        results = [r for f in futures for r in f.result(timeout=20)]
    assert len(results) == 200 and all(r.status_code == 200 for r in results)
    assert a.db_reads() == 1 and b.db_reads() == 1


def test_negative_caching_hits_the_db_once_per_ttl(launch: Launcher) -> None:
    a, plain = launch({"negative": {"enabled": True, "ttl_s": 1.0}}, {}, strategy="delete")
    absent = 9_999_999
    t0 = time.monotonic()
    layers = [a.get(absent) for _ in range(30)]
    assert time.monotonic() - t0 < 0.9
    assert all(r.status_code == 404 for r in layers)
    assert layers[0].headers["X-Cache"] == "miss" and layers[-1].headers["X-Cache"] == "l1"
    assert a.db_reads() == 1
    assert a.metric("cache_negative_hits_total") >= 0
    time.sleep(1.1)
    assert a.get(absent).headers["X-Cache"] == "miss"
    assert a.db_reads() == 2
    for _ in range(10):  # another absent id: a's negative entry is in the shared L2
        assert plain.get(absent - 1).status_code == 404
    assert plain.db_reads() == 10


def test_jittered_ttl_spreads_expiry(launch: Launcher, redis_primary: redis.Redis) -> None:
    (b,) = launch(strategy="delete", l1={"enabled": False}, l2={"ttl_s": 100}, jitter={"enabled": True, "percent": 10})
    for pid in range(100, 200):
        b.get(pid)
    ttls = [redis_primary.pttl(f"product:{pid}") for pid in range(100, 200)]
    assert all(89_000 <= t <= 110_000 for t in ttls), (min(ttls), max(ttls))
    assert max(ttls) - min(ttls) > 8_000


def _poll(inst: Instance, pid: int, seconds: float) -> list[str]:
    layers = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r = inst.get(pid)
        assert r.status_code == 200
        layers.append(r.headers["X-Cache"])
        time.sleep(0.05)
    return layers


def test_early_refresh_keeps_a_key_from_expiring(launch: Launcher) -> None:
    window, xfetch = launch(
        {"early_refresh": {"enabled": True, "mode": "window", "window_s": 1.5}},
        {"early_refresh": {"enabled": True, "mode": "xfetch", "beta": 5000}},
        strategy="delete",
        l1={"enabled": False},
        l2={"ttl_s": 2.0},
        single_flight={"enabled": False},
    )
    for inst, pid in ((window, 71), (xfetch, 72)):
        layers = _poll(inst, pid, 3.0)
        assert layers[0] == "miss" and layers.count("miss") == 1, layers
        assert inst.metric("cache_early_refreshes_total") >= 1
    assert window.metric("cache_early_refreshes_total") >= 2


def test_hot_key_replicated_into_l1(launch: Launcher) -> None:
    (b,) = launch(
        strategy="delete",
        l1={"enabled": False},
        hot_keys={"enabled": True, "threshold_rps": 20, "window_s": 1.0, "ttl_s": 5},
    )
    layers = [b.get(81).headers["X-Cache"] for _ in range(40)]
    assert "l1" in layers and layers[:5] == ["miss", "l2", "l2", "l2", "l2"]
    assert all(b.get(82).headers["X-Cache"] != "l1" for _ in range(3))
    assert wait_for(lambda: b.metric("cache_hot_keys_detections_total") == 1, timeout=2)
    assert wait_for(lambda: b.metric("cache_hot_keys_detected") == 1, timeout=2)


def test_warm_up_fills_the_top_n(launch: Launcher, redis_primary: redis.Redis) -> None:
    (warm,) = launch(strategy="delete", warmup={"enabled": True, "top_n": 100, "batch_size": 25, "source": "orders"})
    assert warm.metric("cache_warmup_loaded_total") == 100
    assert warm.metric("db_queries_total", kind="warmup") == 1
    assert all(warm.get(pid).headers["X-Cache"] == "l1" for pid in range(1, 101))
    assert warm.db_reads() == 0
    assert warm.get(101).headers["X-Cache"] == "miss"
    assert all(redis_primary.exists(f"product:{pid}") for pid in range(1, 101))
    (other,) = launch(strategy="delete", l1={"enabled": False})
    assert all(other.get(pid).headers["X-Cache"] == "l2" for pid in range(1, 101))


def test_warm_up_loads_what_was_observed_to_be_read(launch: Launcher, redis_primary: redis.Redis) -> None:
    """Popularity is learnt from reads (any instance's), not from orders or id order."""
    key = f"test:popularity:{time.time_ns()}"
    warmup = {"enabled": True, "top_n": 3, "batch_size": 2, "popularity_key": key}
    try:
        (first,) = launch(strategy="delete", warmup=warmup)
        assert first.metric("cache_warmup_loaded_total") == 0  # nothing observed yet: nothing warmed
        for pid, reads in ((907, 9), (311, 7), (642, 5), (5, 1)):
            for _ in range(reads):
                first.get(pid)
        assert wait_for(lambda: redis_primary.zscore(key, "642") == 5, timeout=5)  # flushed once a second
        (deployed,) = launch(strategy="delete", warmup=warmup)
        assert deployed.metric("cache_warmup_loaded_total") == 3
        assert [deployed.get(pid).headers["X-Cache"] for pid in (907, 311, 642)] == ["l1"] * 3
        assert deployed.get(5).headers["X-Cache"] != "l1" and deployed.get(1).headers["X-Cache"] != "l1"
    finally:
        redis_primary.delete(key)


def test_no_oversell_with_concurrent_orders(launch: Launcher, shared: Any) -> None:
    a, b = launch({}, {}, strategy="delete")
    pg_exec(shared, "UPDATE products SET stock = 30 WHERE id = 51")
    a.get(51)  # cached stock (30) must not be trusted by orders

    def order(inst: Instance) -> int:
        return inst.http.post("/orders", json={"product_id": 51, "qty": 1}).status_code

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(order, [a, b] * 40))
    assert codes.count(201) == 30 and codes.count(409) == 50
    assert pg_exec(shared, "SELECT stock FROM products WHERE id = 51") == [(0,)]
    assert pg_exec(shared, "SELECT count(*) FROM orders WHERE product_id = 51") == [(30,)]


def test_serve_stale_bug_at_probability_p(launch: Launcher) -> None:
    p = 0.3
    buggy, sane = launch({"bugs": {"serve_stale": {"enabled": True, "probability": p}}}, {}, strategy="delete")
    latest = {pid: buggy.put_price(pid, 10.0 + pid)["version"] for pid in range(61, 71)}
    latest.update({pid: sane.put_price(pid, 11.0 + pid)["version"] for pid in range(66, 71)})
    stale = total = 0
    for i in range(1500):
        pid = 61 + i % 10
        r = buggy.get(pid)
        assert r.status_code == 200 and r.headers["X-Cache"] in ("l1", "l2", "miss")
        v = r.json()["version"]
        assert v <= latest[pid]
        stale += v < latest[pid]
        total += 1
    # 3 sigma of a binomial(1500, 0.3) is about 0.035
    assert abs(stale / total - p) < 0.04, stale / total
    assert buggy.metric("stale_served_total", reason="bug") >= stale
    assert all(sane.get(pid).json()["version"] == latest[pid] for pid in range(61, 71))


def test_bulk_discount_that_forgets_invalidation(launch: Launcher, shared: Any) -> None:
    buggy, fixed = launch(
        {"bugs": {"bulk_discount_forgets_invalidation": {"enabled": True}}},
        {},
        strategy="delete",
        l1={"enabled": False},
    )
    ids = [row[0] for row in pg_exec(shared, "SELECT id FROM products WHERE category_id = 2")]
    for pid in ids:
        buggy.get(pid)
    buggy.http.post("/categories/2/discount", json={"percent": 50}).raise_for_status()
    assert all(buggy.get(pid).json()["version"] == 1 for pid in ids)  # Black Friday
    fixed.http.post("/categories/2/discount", json={"percent": 10}).raise_for_status()
    assert all(buggy.get(pid).json()["version"] == 3 for pid in ids)


def test_bulk_discount_that_forgets_invalidation_under_event(launch: Launcher, shared: Any) -> None:
    """No DEL, no event: neither instance's L1 nor the L2 hears of the committed discount."""
    bug = {"bugs": {"bulk_discount_forgets_invalidation": {"enabled": True}}}
    buggy, other = launch(bug, {}, strategy="event", event={"fallback_ttl_s": 60})
    ids = [row[0] for row in pg_exec(shared, "SELECT id FROM products WHERE category_id = 4")]
    for inst in (buggy, other):
        for pid in ids:
            inst.get(pid)
        assert all(inst.get(pid).headers["X-Cache"] == "l1" for pid in ids)
    updated = buggy.http.post("/categories/4/discount", json={"percent": 50}).json()["updated"]
    assert updated and all(u["version"] == 2 for u in updated)
    time.sleep(0.5)  # an event, had there been one, would have arrived by now
    for inst in (buggy, other):
        assert all(inst.get(pid).json()["version"] == 1 for pid in ids)  # Black Friday
        assert inst.metric("cache_invalidations_applied_total") == 0
    assert buggy.metric("cache_invalidations_sent_total") == 0
    # L2 was not told either: without L1 the old rows come from Redis.
    (fresh,) = launch(strategy="event", l1={"enabled": False})
    r = fresh.get(ids[0])
    assert r.headers["X-Cache"] == "l2" and r.json()["version"] == 1


def test_bulk_discount_that_forgets_invalidation_under_versioned(
    launch: Launcher, shared: Any, redis_primary: redis.Redis
) -> None:
    """The category tag is not bumped, so every cached product keeps its old version."""
    buggy, fixed = launch({"bugs": {"bulk_discount_forgets_invalidation": {"enabled": True}}}, {}, strategy="versioned")
    ids = [row[0] for row in pg_exec(shared, "SELECT id FROM products WHERE category_id = 5")]
    for pid in ids:
        buggy.get(pid)
    assert all(buggy.get(pid).headers["X-Cache"] == "l2" for pid in ids)
    assert redis_primary.get("ctag:5") == b"1"
    updated = buggy.http.post("/categories/5/discount", json={"percent": 50}).json()["updated"]
    assert updated and all(u["version"] == 2 for u in updated)
    assert pg_exec(shared, "SELECT tag_version FROM categories WHERE id = 5") == [(2,)]  # committed
    assert redis_primary.get("ctag:5") == b"1"  # but not bumped in Redis
    assert buggy.metric("cache_invalidations_sent_total") == 0
    for inst in (buggy, fixed):
        assert all(inst.get(pid).json()["version"] == 1 for pid in ids)
    # The same discount without the bug bumps the tag: everyone sees the new rows.
    fixed.http.post("/categories/5/discount", json={"percent": 10}).raise_for_status()
    assert redis_primary.get("ctag:5") == b"3"
    assert all(buggy.get(pid).json()["version"] == 3 for pid in ids)


def test_l1_long_ttl_without_invalidation(launch: Launcher) -> None:
    writer, buggy = launch(
        {},
        {"bugs": {"l1_long_ttl_no_invalidation": {"enabled": True, "ttl_s": 300}}},
        strategy="event",
        l1={"ttl_s": 0.2},
    )
    buggy.get(91)
    version = writer.put_price(91, 3.0)["version"]
    assert wait_for(lambda: buggy.metric("cache_invalidations_applied_total") >= 1, timeout=2)
    time.sleep(0.3)
    r = buggy.get(91)
    assert r.headers["X-Cache"] == "l1" and r.json()["version"] == version - 1
    assert writer.get(91).json()["version"] == version
