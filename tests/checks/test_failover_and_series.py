"""failover_time and series_stat on generated run directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.checks import CHECKS
from cachechaos.checks.rundata import RunData
from cachechaos.history import Op
from tests.checks.rundirs import T0, RunDirBuilder


def _cart_writes(b: RunDirBuilder, spans: list[tuple[float, float, int]]) -> RunDirBuilder:
    """(from, to, status): one cart write every 0.1 s in each span."""
    for start, end, status in spans:
        t = start
        while t < end - 1e-9:
            b.write(t, t + 0.01, key=1, version=1, status=status, op=Op.CART_WRITE)
            t = round(t + 0.1, 6)
    return b


def test_failover_time_runs_from_the_fault_to_the_first_write_after_the_outage(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 5), ("fault", 5, 15)).fault("kill", 5, 15, "kill")
    _cart_writes(b, [(0, 5.5, 200), (5.5, 8.3, 503), (8.3, 15, 200)])
    m = CHECKS["failover_time"](RunData.load(b.write_dir()))
    assert m.value == pytest.approx(8.3 + 0.01 - 5, abs=1e-6)
    assert m.details["failed_writes"] == 28 and m.details["write_outage_s"] == pytest.approx(8.31 - 5.5, abs=1e-3)


def test_failover_time_says_no_effect_without_failures_and_none_without_recovery(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path / "a").phases(("fault", 0, 10)).fault("kill", 1, 10, "kill")
    _cart_writes(b, [(0, 10, 200)])
    unaffected = RunData.load(b.write_dir())
    m = CHECKS["failover_time"](unaffected)
    assert m.value is None and m.details["effect"] is False and "no effect" in m.details["reason"]
    # A service whose carts are not in Redis: writes that never stopped are an outage of 0 s.
    m = CHECKS["failover_time"](unaffected, unaffected_passes=True)
    assert m.value == 0.0 and m.details["effect"] is False and "did not stop" in m.details["note"]
    b = RunDirBuilder(tmp_path / "b").phases(("fault", 0, 10)).fault("kill", 1, 10, "kill")
    _cart_writes(b, [(0, 2, 200), (2, 10, 0)])
    m = CHECKS["failover_time"](RunData.load(b.write_dir()), unaffected_passes=True)
    assert m.value is None and "never" in m.details["reason"]  # an outage that never ended still fails


def test_failover_time_needs_sustained_success_not_one_lucky_write(tmp_path: Path) -> None:
    # Writes fail from 5.5 s; one succeeds at 6.0 while the rest keep failing until 9.0.
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 5), ("fault", 5, 15)).fault("kill", 5, 15, "kill")
    _cart_writes(b, [(0, 5.5, 200), (5.5, 6.0, 503), (6.0, 6.1, 200), (6.1, 9.0, 503), (9.0, 15, 200)])
    m = CHECKS["failover_time"](RunData.load(b.write_dir()), hold_s=2.0)
    assert m.value == pytest.approx(9.0 + 0.01 - 5, abs=1e-6)
    # Success that lasts less than hold_s before the run ends is not a recovery either.
    b = RunDirBuilder(tmp_path / "short").phases(("fault", 0, 10)).fault("kill", 1, 10, "kill")
    _cart_writes(b, [(0, 2, 200), (2, 9.5, 503), (9.5, 10, 200)])
    assert CHECKS["failover_time"](RunData.load(b.write_dir()), hold_s=2.0).value is None


def test_series_stat_over_a_phase(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 5), ("fault", 5, 10))
    commands = 0
    for second in range(11):
        commands += 100 if second <= 5 else 300  # 100 ops/s, then 300 ops/s
        b.sample(second, redis={"redis-1": {"up": True, "total_commands_processed": commands}})
    b.read(0.5, 1, 1)
    run = RunData.load(b.write_dir())
    assert CHECKS["series_stat"](run, metric="redis_ops", stat="mean", phase="fault").value == pytest.approx(300)
    assert CHECKS["series_stat"](run, metric="redis_ops", stat="max", phase="baseline").value == pytest.approx(100)
    assert CHECKS["series_stat"](run, metric="redis_ops", stat="p95").value == pytest.approx(300)
    assert run.start == pytest.approx(T0)


def test_key_redis_rate_counts_reads_of_one_key_that_reached_redis(tmp_path: Path) -> None:
    from cachechaos.history import Layer

    b = RunDirBuilder(tmp_path).phases(("hot", 0, 10))
    for i in range(100):
        b.read(i * 0.1, 1, 1, layer=Layer.L1 if i % 4 else Layer.L2)  # 25 of 100 from L2
        b.read(i * 0.1, 2, 1, layer=Layer.MISS)
    m = CHECKS["key_redis_rate"](RunData.load(b.write_dir()), key=1, phase="hot")
    assert m.value == pytest.approx(2.5) and m.details["by_layer"]["l1"] == 75
