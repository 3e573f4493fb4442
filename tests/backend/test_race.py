"""The cache-aside race, with a deterministic interleaving through the before_fill hook.

reader: miss, reads version 1 from PostgreSQL, stops before filling
writer: commits version 2 and invalidates as its strategy says
reader: resumes and fills what it read
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.backend.conftest import Launcher, wait_for

PID = 21
KEY = f"product:{PID}"


def l2_version(r: redis.Redis, strategy: str) -> int | None:
    """The version the next reader would get from Redis (None: a miss)."""
    if strategy == "versioned":
        ptr = r.get(f"pver:{PID}")
        if ptr is None:
            return None
        ver, cid = ptr.decode().split()
        tag = r.get(f"ctag:{cid}")
        raw = r.get(f"{KEY}:v{ver}:t{tag.decode()}") if tag else None
    else:
        raw = r.get(KEY)
    return None if raw is None else int(json.loads(raw)["product"]["version"])


@pytest.mark.parametrize(("strategy", "stale_expected"), [("delete", True), ("lease", False), ("versioned", False)])
def test_reader_paused_across_a_write(
    launch: Launcher, redis_primary: redis.Redis, strategy: str, stale_expected: bool
) -> None:
    reader, writer = launch({}, {}, strategy=strategy, l1={"enabled": False})
    reader.pause(KEY)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(reader.get, PID)
        assert wait_for(lambda: reader.waiting(KEY), timeout=5), "reader never reached the hook"
        assert writer.put_price(PID, 77.0)["version"] == 2
        assert reader.resume(KEY)
        first = pending.result(timeout=5)
    # The paused read itself was linearizable (it began before the write committed).
    assert first.json()["version"] == 1

    in_l2 = l2_version(redis_primary, strategy)
    after = writer.get(PID).json()["version"]
    if stale_expected:
        assert in_l2 == 1, "delete should have left the old row in Redis"
        assert after == 1
    else:
        assert in_l2 in (None, 2)
        assert after == 2
        if strategy == "lease":
            assert reader.metric("lease_fills_rejected_total") == 1
