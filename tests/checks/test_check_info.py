"""Check metadata is declared once, beside each check, and read from there by criteria."""

from __future__ import annotations

from cachechaos.checks.registry import CHECK_INFO, CHECKS
from cachechaos.checks.result import UNITS


def test_every_check_declares_its_unit() -> None:
    assert set(CHECK_INFO) == set(CHECKS)
    assert all(info.name == name and info.unit in UNITS for name, info in CHECK_INFO.items())
    # The two that had drifted out of the old unit table.
    assert CHECK_INFO["key_redis_rate"].unit == "req/s" and CHECK_INFO["failover_time"].unit == "s"

