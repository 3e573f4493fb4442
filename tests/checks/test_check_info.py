"""Check metadata is declared once, beside each check, and read from there by criteria and scaling."""

from __future__ import annotations

from cachechaos.checks.registry import CHECK_INFO, CHECKS, SCALES_WITH_DURATION
from cachechaos.checks.result import UNITS
from cachechaos.experiment.scaling import scale_durations


def test_every_check_declares_its_unit() -> None:
    assert set(CHECK_INFO) == set(CHECKS)
    assert all(info.name == name and info.unit in UNITS for name, info in CHECK_INFO.items())
    # The two that had drifted out of the old unit table.
    assert CHECK_INFO["key_redis_rate"].unit == "req/s" and CHECK_INFO["failover_time"].unit == "s"


def test_bounds_in_seconds_scale_with_the_experiment() -> None:
    assert {"recovery_time", "failover_time"} == SCALES_WITH_DURATION
    data = {"criteria": [{"check": "failover_time", "max": 10}, {"check": "latency", "max": 10}]}
    scaled = scale_durations(data, 3.0)
    assert [c["max"] for c in scaled["criteria"]] == [30, 10]
