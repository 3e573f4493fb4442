"""recovery_time: band around the baseline, hold period, never-recovered as a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.checks import RunData
from cachechaos.checks.recovery import recovery_time
from tests.checks.rundirs import T0, RunDirBuilder


def _hit_rate_run(path: Path, after_heal: list[float], heal_at: float = 20.0, jitter: float = 0.0) -> RunData:
    """Baseline 0..10 at 90% L2 hit rate, a FLUSHALL at `heal_at`, then `after_heal` hit rates one per second."""
    b = RunDirBuilder(path)
    b.event(0, "run_start").phases(("baseline", 0, 10), ("fault", 10, heal_at), ("recovery", heal_at, 60))
    b.fault("flushall", heal_at, heal_at)
    rates = [0.9] * 10 + [0.9] * int(heal_at - 10) + after_heal
    hits = misses = 0.0
    b.sample(0, redis={"r1": {"up": True, "keyspace_hits": 0, "keyspace_misses": 0}})
    for i, rate in enumerate(rates, start=1):
        hits += 1000 * rate
        misses += 1000 * (1 - rate)
        b.sample(i + jitter, redis={"r1": {"up": True, "keyspace_hits": hits, "keyspace_misses": misses}})
    b.event(len(rates) + 1, "run_end", status="finished")
    return RunData.load(b.write_dir())


def test_recovers_when_the_hit_rate_holds_above_the_band(tmp_path: Path) -> None:
    # Points after the heal at t=20 are labelled 21, 22, ...; 0.9 x 0.8 = 0.72 is the band.
    after = [0.0, 0.3, 0.75, 0.6, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    run = _hit_rate_run(tmp_path, after)
    m = recovery_time(run, metric="l2_hit_rate", band=0.8, hold_s=5)
    # 0.75 at t=23 does not hold (0.6 at 24); from t=25 every point is in band through 30.
    assert m.value == pytest.approx(5.0)
    assert m.unit == "s" and m.details["recovered"] is True
    assert m.details["baseline_mean"] == pytest.approx(0.9)
    assert m.details["threshold"] == pytest.approx(0.72)
    assert m.details["fault_end"] == T0 + 20
    assert [v for t, v in m.details["curve"] if t in (1.0, 2.0)] == [0.0, 0.3]


def test_hold_needs_data_to_its_end(tmp_path: Path) -> None:
    run = _hit_rate_run(tmp_path, [0.1, 0.1, 0.9, 0.9, 0.9])  # in band from t=23, data only to 25
    assert recovery_time(run, hold_s=2).value == pytest.approx(3.0)
    never = recovery_time(run, hold_s=5)
    assert never.value is None and never.details["recovered"] is False
    assert never.details["reason"] == "never recovered within the run"


def test_never_recovered(tmp_path: Path) -> None:
    run = _hit_rate_run(tmp_path, [0.1] * 30)
    m = recovery_time(run)
    assert m.value is None and m.details["recovered"] is False
    assert len(m.details["curve"]) == 50


def test_sample_jitter_does_not_cost_a_second(tmp_path: Path) -> None:
    run = _hit_rate_run(tmp_path, [0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], jitter=0.03)
    assert recovery_time(run, hold_s=5).value == pytest.approx(2.03)


def test_direction_below_for_db_qps_and_after_a_phase(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.phases(("baseline", 0, 10), ("fault", 10, 20), ("recovery", 20, 40))
    qps = [100] * 20 + [900, 500, 130, 110, 100, 100, 100, 100, 100, 100]
    total = 0
    b.sample(0, postgres={"up": True, "xact_commit": 0, "xact_rollback": 0})
    for i, q in enumerate(qps, start=1):
        total += q
        b.sample(i, postgres={"up": True, "xact_commit": total, "xact_rollback": 0})
    run = RunData.load(b.write_dir())
    # Points at 21 (900), 22 (500), 23 (130), 24 (110): 110 <= 120 from t=24 on.
    m = recovery_time(run, metric="db_qps", band=1.2, hold_s=3, direction="below", after="fault")
    assert m.value == pytest.approx(4.0)
    assert m.details["after"] == "fault"
    above = recovery_time(run, metric="db_qps", band=1.2, hold_s=2, direction="above", after="fault")
    assert above.value == pytest.approx(1.0)  # 900, 500, 130 >= 120 for 2 s
    assert recovery_time(run, metric="db_qps", band=1.2, hold_s=3, direction="above", after="fault").value is None


def test_bad_inputs_raise_with_what_to_do(tmp_path: Path) -> None:
    run = _hit_rate_run(tmp_path, [0.9] * 10)
    with pytest.raises(ValueError, match="flushall"):
        recovery_time(run, after="flush")
    with pytest.raises(ValueError, match="no phase 'warm'"):
        recovery_time(run, baseline_phase="warm")
    with pytest.raises(ValueError, match="direction"):
        recovery_time(run, direction="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown metric"):
        recovery_time(run, metric="hitrate")
    no_faults = RunData.load(RunDirBuilder(tmp_path / "nf").phases(("baseline", 0, 10)).write_dir())
    with pytest.raises(ValueError, match="no injected fault"):
        recovery_time(no_faults)


def test_no_baseline_values_is_not_measurable(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10)).fault("flushall", 12, 12)
    m = recovery_time(RunData.load(b.write_dir()))
    assert m.value is None and "baseline" in m.details["reason"]


def test_history_metric_hit_rate(tmp_path: Path) -> None:
    from cachechaos.history import Layer

    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10)).fault("restart", 10, 12, type_="kill")
    for s in range(30):
        layer = Layer.MISS if 12 <= s < 16 else Layer.L1
        for i in range(4):
            b.read(s + i * 0.2, key=i, version=1, layer=layer)
    run = RunData.load(b.write_dir())
    # Buckets start at whole seconds; 16 is the first all-hit second after the heal at 12.
    assert recovery_time(run, metric="hit_rate", hold_s=5).value == pytest.approx(4.0)


def test_a_one_shot_restart_is_timed_from_its_start_and_its_outage_counts(tmp_path: Path) -> None:
    """A restart's inject returns once the instances are back: the outage before that is part of the recovery."""
    from cachechaos.history import Layer

    b = RunDirBuilder(tmp_path)
    b.event(0, "run_start").phases(("baseline", 0, 10), ("deploy", 10, 30))
    # The restart began at 12 and its inject returned (with the immediate heal) at 16.
    b.event(12, "inject", fault="restart_backends", type="restart_backends", phase="deploy", target="backends",
            params={}, ok=True, one_shot=True, applied_at=T0 + 16)
    b.event(16, "heal", fault="restart_backends", type="restart_backends", phase="deploy", target="backends",
            params={}, ok=True, one_shot=True)
    for second in range(30):
        for i in range(10):
            t = second + i / 10
            if 12 <= t < 16:
                b.read(t, key=1, version=1, layer=Layer.NONE, status=0)    # instances down: reads fail
            elif 16 <= t < 18:
                b.read(t, key=1, version=1, layer=Layer.MISS)             # back, L1 cold
            else:
                b.read(t, key=1, version=1, layer=Layer.L1)
    b.event(30, "run_end", status="finished")
    m = recovery_time(RunData.load(b.write_dir()), metric="l1_hit_rate", band=0.8, hold_s=3, after="restart_backends")
    # From the start of the restart (12) to the first second (18) after which the L1 hit rate holds.
    assert m.value == pytest.approx(6.0)
    assert m.details["fault_end"] == pytest.approx(T0 + 12)
