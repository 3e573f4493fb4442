"""The sampler against /metrics endpoints the toolkit did not write: it survives them and says once what it missed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from cachechaos.experiment.sampler import Sampler
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalTopologySpec


def _sampler(url: str, path: Path) -> Sampler:
    target = ExternalTarget(ExternalTopologySpec(backends=[url]))
    return Sampler(target, path, interval=0.2)


@pytest.mark.parametrize(("metrics", "expect_up", "gap"), [
    ("none", False, "HTTP 404"),
    ("html", False, "not Prometheus text"),
    ("partial", True, "partly not Prometheus text"),
    ("slow", False, "no answer within"),
    ("prometheus", True, None),
])
def test_sampler_survives_the_endpoint(metrics: str, expect_up: bool, gap: str | None, shop_factory: Any,
                                       tmp_path: Path) -> None:
    shop = shop_factory("nocache", "--metrics", metrics)
    path = tmp_path / "metrics.jsonl"
    sampler = _sampler(shop.url, path)
    sampler.start()
    try:
        deadline = time.monotonic() + 10
        while len(path.read_text().splitlines() if path.exists() else []) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sampler._thread.is_alive()  # the thread a 404 killed before
        first = sampler.new_gaps()
        again = sampler.new_gaps()
    finally:
        sampler.stop()
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(samples) >= 3
    backend = samples[-1]["backends"]["backend-1"]
    assert backend["up"] is expect_up
    if metrics == "partial":
        # The lines before the garbage are kept; the one after it is not.
        assert backend["metrics"] == {"shop_requests_total": 7.0, "shop_up": 1.0}
    if metrics == "prometheus":
        assert backend["metrics"]["shop_requests_total"] == 7.0
    # No PostgreSQL and no Redis in this topology: said once each, never raised.
    assert samples[-1]["postgres"] is None
    assert "no PostgreSQL DSN" in first["postgres"] and "no Redis nodes" in first["redis"]
    if gap is None:
        assert "backend-1 /metrics" not in first
    else:
        assert gap in first["backend-1 /metrics"]
    assert again == {}  # each gap is reported once
    assert set(sampler.gaps) == set(first)
