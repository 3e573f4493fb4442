"""`scale`: the observation gets longer and nothing else; every shipped experiment keeps its windows and bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cachechaos.experiment.model import ExperimentSpec, load_experiment

REPO = Path(__file__).resolve().parents[2]

SPEC = {
    "name": "demo", "purpose": "scaling", "scale": 6,
    "backend": {"strategy": "event", "l1": {"ttl_s": 2}, "event": {"fallback_ttl_s": 5}, "lease": {"stale_ttl_s": 0.5},
                "early_refresh": {"enabled": True, "mode": "window", "window_s": 3},
                "hot_keys": {"enabled": True, "threshold_rps": 20, "window_s": 1, "ttl_s": 2}},
    "traffic": {"shape": {"kind": "arrival_spike", "base_rate_per_s": 100, "spike_rate_per_s": 300, "at_s": 5,
                          "duration_s": 2},
                "zipf_s": 1.1, "request_timeout_s": 2},
    "phases": [
        {"name": "baseline", "duration_s": 4},
        {"name": "fault", "duration_s": 10, "faults": [
            {"type": "latency", "link": "pubsub.*", "latency_ms": 5000, "jitter_ms": 100},
            {"type": "expire_keys", "keys": ["product:1"], "ttl_ms": 500, "after_s": 1},
            {"type": "bulk_discount", "categories": [1], "percent": 10, "timeout_s": 30, "after_s": 2}]},
    ],
    "criteria": [
        {"name": "stale", "check": "stale_read_rate", "window_s": 1, "max": 0.01},
        {"name": "recovery", "check": "recovery_time", "metric": "l2_hit_rate", "hold_s": 3, "after": "expire_keys", "max": 20},
        {"name": "failover", "check": "failover_time", "hold_s": 2, "max": 10},
    ],
    "variants": {"wrong": {"expect": "fail", "backend": {"event": {"fallback_ttl_s": 30}}}},
}


def _leaves(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every scalar of a JSON form by its path (list items by index)."""
    if isinstance(node, dict):
        return {k: v for key, child in node.items() for k, v in _leaves(child, (*path, str(key))).items()}
    if isinstance(node, list):
        return {k: v for i, child in enumerate(node) for k, v in _leaves(child, (*path, str(i))).items()}
    return {path: node}


def _changed(before: ExperimentSpec, after: ExperimentSpec) -> dict[tuple[str, ...], tuple[Any, Any]]:
    """The fields whose values differ between two experiments (without `scale` itself)."""
    old, new = (_leaves({**s.model_dump(mode="json"), "scale": None}) for s in (before, after))
    assert old.keys() == new.keys()
    return {path: (old[path], new[path]) for path in old if old[path] != new[path]}


def _is_observation(path: tuple[str, ...]) -> bool:
    """Phase lengths, fault start offsets and the traffic shape's timings: what `scale` may touch."""
    allowed = (("phases", "#", "duration_s"), ("phases", "#", "faults", "#", "after_s"),
               ("traffic", "shape", "duration_s"), ("traffic", "shape", "at_s"))
    return any(len(path) == len(pattern) and all(p == q or (q == "#" and p.isdigit()) for p, q in zip(path, pattern, strict=True))
               for pattern in allowed)


def test_scale_lengthens_the_observation_and_touches_nothing_else() -> None:
    spec = ExperimentSpec.model_validate(SPEC)
    scaled = spec.scaled()
    assert scaled.scale == 1.0
    assert [p.duration_s for p in scaled.phases] == [24, 60]
    assert [f.after_s for f in scaled.phases[1].faults] == [0, 6, 12]
    assert (scaled.traffic.shape.at_s, scaled.traffic.shape.duration_s) == (30, 12)  # type: ignore[union-attr]
    assert set(_changed(spec, scaled)) == {
        ("phases", "0", "duration_s"), ("phases", "1", "duration_s"),
        ("phases", "1", "faults", "1", "after_s"), ("phases", "1", "faults", "2", "after_s"),
        ("traffic", "shape", "at_s"), ("traffic", "shape", "duration_s"),
    }
    # Spelled out, the time constants that used to move with the run, and must not:
    assert scaled.backend == SPEC["backend"]                              # TTLs, refresh window, hot-key detector
    assert scaled.variants["wrong"].backend == {"event": {"fallback_ttl_s": 30}}
    latency, expire, discount = scaled.phases[1].faults
    assert (latency.latency_ms, latency.jitter_ms) == (5000, 100)        # type: ignore[attr-defined]
    assert expire.ttl_ms == 500 and discount.timeout_s == 30              # type: ignore[attr-defined]
    stale, recovery, failover = scaled.criteria
    assert stale.params["window_s"] == 1 and stale.max == 0.01
    assert recovery.params["hold_s"] == 3 and recovery.max == 20           # a requirement, not a length of the test
    assert failover.params["hold_s"] == 2 and failover.max == 10
    assert scaled.traffic.zipf_s == 1.1 and scaled.traffic.request_timeout_s == 2


def test_scale_one_is_the_same_experiment() -> None:
    spec = ExperimentSpec.model_validate({**SPEC, "scale": 1})
    assert spec.scaled() is spec


def test_a_variant_then_scale_keeps_the_variant_and_scales_its_phases_once() -> None:
    scaled = ExperimentSpec.model_validate(SPEC).variant("wrong").scaled()
    assert scaled.backend["event"]["fallback_ttl_s"] == 30
    assert scaled.duration_s == 6 * 14


def test_the_control_at_scale_keeps_its_dry_faults_at_the_lengthened_instants() -> None:
    scaled = ExperimentSpec.model_validate(SPEC).variant("wrong").control().scaled()
    assert all(f.dry for f in scaled.phases[1].faults)
    assert [f.after_s for f in scaled.phases[1].faults] == [0, 6, 12]


EXPERIMENTS = sorted(p for p in (REPO / "experiments").glob("*.yaml") if p.stem not in ("checklist", "ci-subset"))


def _cells(spec: ExperimentSpec) -> list[ExperimentSpec]:
    """The configurations a matrix runs of an experiment: itself, every variant, and the control."""
    cells = [spec, *(spec.variant(name) for name in spec.variants)]
    if spec.control_variant is not None:
        cells.append(spec.variant(spec.control_variant).control())
    return cells


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_shipped_experiment_at_scale_4_keeps_every_window_bound_and_time_constant(path: Path) -> None:
    spec = load_experiment(path)
    for cell in _cells(spec):
        scaled = cell.model_copy(update={"scale": 4.0}).scaled()  # validates
        changed = _changed(cell, scaled)
        assert changed, "a longer observation changes at least the phase lengths"
        assert all(_is_observation(p) for p in changed), [p for p in changed if not _is_observation(p)]
        assert all(new == pytest.approx(4 * old) for old, new in changed.values())
        assert scaled.criteria == cell.criteria and scaled.backend == cell.backend
        assert scaled.duration_s == pytest.approx(4 * cell.duration_s)
        for phase in scaled.phases:  # every trigger still falls inside its phase
            assert all(f.after_s < phase.duration_s for f in phase.faults)


def test_reseeded_changes_the_load_sequence_and_nothing_else() -> None:
    """--seed and gate --repeat draw other load sequences: only traffic.seed moves."""
    spec = ExperimentSpec.model_validate(SPEC)
    other = spec.reseeded(spec.traffic.seed + 3)
    assert other.traffic.seed == spec.traffic.seed + 3
    before, after = _leaves(spec.model_dump(mode="json")), _leaves(other.model_dump(mode="json"))
    assert {k for k in before if before[k] != after.get(k)} == {("traffic", "seed")}
