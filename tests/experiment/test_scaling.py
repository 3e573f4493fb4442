"""`scale`: every duration field multiplied once, nothing else; every shipped experiment still loads scaled."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.experiment.model import ExperimentSpec, load_experiment

REPO = Path(__file__).resolve().parents[2]

SPEC = {
    "name": "demo", "purpose": "scaling", "scale": 6,
    "backend": {"strategy": "event", "l1": {"ttl_s": 2}, "event": {"fallback_ttl_s": 5}, "lease": {"stale_ttl_s": 0.5},
                "hot_keys": {"enabled": True, "threshold_rps": 20, "window_s": 1, "ttl_s": 2}},
    "traffic": {"shape": {"kind": "arrival", "rate_per_s": 300}, "zipf_s": 1.1, "request_timeout_s": 2},
    "phases": [
        {"name": "baseline", "duration_s": 4},
        {"name": "fault", "duration_s": 10, "faults": [
            {"type": "flushall", "after_s": 1},
            {"type": "bulk_discount", "categories": [1], "percent": 10, "timeout_s": 30, "after_s": 2}]},
    ],
    "criteria": [
        {"name": "stale", "check": "stale_read_rate", "window_s": 1, "max": 0.01},
        {"name": "recovery", "check": "recovery_time", "metric": "l2_hit_rate", "hold_s": 3, "after": "flushall", "max": 20},
        {"name": "failover", "check": "failover_time", "hold_s": 2, "max": 10},
    ],
    "variants": {"wrong": {"expect": "fail", "backend": {"l1": {"ttl_s": 30}}}},
}


def test_scale_multiplies_each_duration_once_and_nothing_else() -> None:
    spec = ExperimentSpec.model_validate(SPEC).scaled()
    assert spec.scale == 1.0
    assert [p.duration_s for p in spec.phases] == [24, 60]
    assert [f.after_s for f in spec.phases[1].faults] == [6, 12]
    assert spec.phases[1].faults[1].timeout_s == 30  # a client timeout, not a duration of the scenario
    assert spec.traffic.shape.rate_per_s == 300       # a rate
    assert spec.traffic.zipf_s == 1.1                 # a skew (at scale 6 it used to become 6.6 and fail validation)
    assert spec.traffic.request_timeout_s == 2
    assert spec.backend["l1"]["ttl_s"] == 12 and spec.backend["event"]["fallback_ttl_s"] == 30
    assert spec.backend["lease"]["stale_ttl_s"] == 3
    assert spec.backend["hot_keys"] == {"enabled": True, "threshold_rps": 20, "window_s": 1, "ttl_s": 2}  # a rate detector
    assert spec.variants["wrong"].backend["l1"]["ttl_s"] == 180
    stale, recovery, failover = spec.criteria
    assert stale.params["window_s"] == 6 and stale.max == 0.01  # once (it used to become 36), and a ratio bound stays
    assert recovery.params["hold_s"] == 18 and recovery.max == 120
    assert failover.params["hold_s"] == 12 and failover.max == 60


def test_scale_one_is_the_same_experiment() -> None:
    spec = ExperimentSpec.model_validate({**SPEC, "scale": 1})
    assert spec.scaled() is spec


def test_a_variant_then_scale_scales_the_variant_once() -> None:
    spec = ExperimentSpec.model_validate(SPEC)
    assert spec.variant("wrong").scaled().backend["l1"]["ttl_s"] == 180


EXPERIMENTS = sorted(p for p in (REPO / "experiments").glob("*.yaml") if p.stem not in ("checklist", "ci-subset"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_shipped_experiment_scales_to_production_length(path: Path) -> None:
    spec = load_experiment(path)
    scaled = spec.model_copy(update={"scale": 6.0}).scaled()
    assert scaled.duration_s == pytest.approx(6 * spec.duration_s)
    assert scaled.traffic.zipf_s == spec.traffic.zipf_s
    for name in spec.variants:
        spec.variant(name).model_copy(update={"scale": 6.0}).scaled()  # validates
