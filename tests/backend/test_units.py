"""The pure pieces: L1, single-flight, TTL math, hot keys, entries, config."""

from __future__ import annotations

import asyncio
import json
import math
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from cachechaos.backend.config import BackendConfig, load_config
from cachechaos.backend.entry import decode, encode, make_entry
from cachechaos.backend.expiry import jittered_ttl, window_should_refresh, xfetch_should_refresh
from cachechaos.backend.hotkeys import HotKeyDetector
from cachechaos.backend.l1 import L1Cache
from cachechaos.backend.singleflight import SingleFlight


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_l1_expires_entries_after_ttl() -> None:
    clock = Clock()
    c: L1Cache[int] = L1Cache(10, ttl_s=5.0, clock=clock)
    c.set("a", 1)
    c.set("b", 2, ttl_s=1.0)
    clock.t += 1.5
    assert c.get("a") == 1
    assert c.get("b") is None
    clock.t += 4.0
    assert c.get("a") is None
    assert len(c) == 0


def test_l1_evicts_least_recently_used() -> None:
    c: L1Cache[int] = L1Cache(3, ttl_s=60.0)
    for k in "abc":
        c.set(k, ord(k))
    assert c.get("a") == ord("a")  # a is now most recent; b is the LRU
    c.set("d", 4)
    assert c.get("b") is None
    assert [k for k in "acd" if c.get(k) is not None] == ["a", "c", "d"]
    assert c.evictions == 1
    assert c.delete("a") and not c.delete("a")


def test_singleflight_runs_once_for_concurrent_callers() -> None:
    async def main() -> tuple[int, list[tuple[int, bool]]]:
        sf: SingleFlight[int] = SingleFlight()
        calls = 0
        gate = asyncio.Event()

        async def load() -> int:
            nonlocal calls
            calls += 1
            await gate.wait()
            return 42

        tasks = [asyncio.create_task(sf.do("k", load)) for _ in range(100)]
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.gather(*tasks)
        assert sf.inflight() == 0
        return calls, results

    calls, results = asyncio.run(main())
    assert calls == 1
    assert all(r == 42 for r, _ in results)
    assert sum(joined for _, joined in results) == 99


def test_singleflight_shares_errors_and_then_retries() -> None:
    async def main() -> None:
        sf: SingleFlight[int] = SingleFlight()
        attempts = 0

        async def boom() -> int:
            nonlocal attempts
            attempts += 1
            await asyncio.sleep(0.01)
            raise RuntimeError("db down")

        results = await asyncio.gather(*(sf.do("k", boom) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert attempts == 1

        async def ok() -> int:
            return 7

        assert await sf.do("k", ok) == (7, False)

    asyncio.run(main())


def test_jitter_stays_within_percent_and_spreads() -> None:
    rng = random.Random(1)
    ttls = [jittered_ttl(100.0, 10.0, rng) for _ in range(2000)]
    assert min(ttls) >= 90.0 and max(ttls) <= 110.0
    assert max(ttls) - min(ttls) > 15.0
    assert jittered_ttl(100.0, 0.0) == 100.0


def test_xfetch_probability_grows_towards_expiry() -> None:
    rng = random.Random(7)
    delta, beta, exp = 0.1, 1.0, 1000.0

    def rate(now: float) -> float:
        return sum(xfetch_should_refresh(now, exp, delta, beta, rng) for _ in range(4000)) / 4000

    far, near, past = rate(exp - 1.0), rate(exp - 0.05), rate(exp + 0.001)
    # P(refresh) = P(-ln U >= gap/(delta*beta)) = exp(-gap/(delta*beta))
    assert far == pytest.approx(math.exp(-10), abs=0.005)
    assert near == pytest.approx(math.exp(-0.5), abs=0.03)
    assert past == 1.0


def test_window_refresh() -> None:
    assert window_should_refresh(now=71.0, expires_at=100.0, window_s=30.0)
    assert not window_should_refresh(now=69.0, expires_at=100.0, window_s=30.0)


def test_hot_key_detection_by_rate() -> None:
    clock = Clock()
    d = HotKeyDetector(threshold_rps=50, window_s=1.0, clock=clock)
    assert not any(d.hit("cold") for _ in range(10))
    results = [d.hit("hot") for _ in range(60)]
    assert results.index(True) == 49  # the 50th request in the window crosses the threshold
    assert d.hot_count() == 1 and d.detected_total == 1
    clock.t += 1.0  # next window: still hot, carried over from the previous one
    assert d.hit("hot") and not d.hit("cold")
    clock.t += 2.5  # idle for more than a window: cold again
    assert not d.is_hot("hot")
    assert d.hot_count() == 0


def test_entry_roundtrip_and_body() -> None:
    p = {"id": 3, "name": "p3", "category_id": 3, "price": 9.5, "stock": 100, "version": 4, "tag": 1}
    e = decode(encode(make_entry(p, 10.0, 0.002)))
    assert e.product == p and e.version == 4 and e.delta == 0.002
    assert json.loads(e.body) == {k: p[k] for k in ("id", "name", "category_id", "price", "stock", "version")}
    neg = decode(encode(make_entry(None, 5.0, 0.0)))
    assert neg.product is None and neg.body == b""
    assert 4000 < neg.ttl_ms() <= 5000


def test_config_defaults_and_validation(tmp_path: Path) -> None:
    f = tmp_path / "b.yaml"
    f.write_text("strategy: event\nsentinels: ['127.0.0.1:26379']\njitter: {enabled: true}\n")
    cfg = load_config(f)
    assert cfg.strategy == "event" and cfg.master_name == "cachechaos"
    assert cfg.redis_timeout_ms == 200 and cfg.jitter.percent == 10.0
    assert not cfg.bugs.serve_stale.enabled
    j = tmp_path / "b.json"
    j.write_text(json.dumps({"strategy": "none"}))
    assert load_config(j).strategy == "none"
    with pytest.raises(ValidationError):
        BackendConfig.model_validate({"strategy": "delete"})  # no Redis address at all
    with pytest.raises(ValidationError):
        BackendConfig.model_validate({"strategy": "none", "l1": {"ttl": 3}})  # typo is an error
    direct = BackendConfig.model_validate(
        {"strategy": "delete", "sentinel_discovery": False, "redis_url": "127.0.0.1:6379"}
    )
    assert direct.redis_url == "127.0.0.1:6379"
