"""Loading a run directory: windows from the journal, interrupted runs, derived series, counter resets."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.checks import RunData
from cachechaos.history import Layer, Op
from tests.checks.rundirs import T0, RunDirBuilder


def _redis(hits: float, misses: float, up: bool = True) -> dict:
    return {"up": up, "role": "master", "keyspace_hits": hits, "keyspace_misses": misses, "evicted_keys": 0}


def test_phases_faults_and_records_of_a_finished_run(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.event(0, "run_start").phases(("baseline", 0, 10), ("fault", 10, 20), ("recovery", 20, 30))
    b.fault("flushall", 12, 12.001).fault("latency", 14, 18, type_="link_latency").event(31, "run_end", status="finished")
    for i in range(30):
        b.read(i + 0.5, key=i % 3, version=1)
    b.write(10.2, 10.4, key=1, version=2)
    run = RunData.load(b.write_dir())

    assert run.status == "finished" and not run.interrupted
    assert (run.start, run.end) == (T0, T0 + 31)
    assert [(p.name, p.start - T0, p.end - T0, p.closed) for p in run.phases] == [
        ("baseline", 0, 10, True), ("fault", 10, 20, True), ("recovery", 20, 30, True)]
    assert [(f.name, f.type, f.start - T0, f.closed) for f in run.faults] == [
        ("flushall", "flushall", 12, True), ("latency", "link_latency", 14, True)]
    assert run.fault("latency").end == T0 + 18
    assert run.phase_of(T0 + 9.99) == "baseline" and run.phase_of(T0 + 10) == "fault"
    assert run.phase_of(T0 + 30.5) is None
    assert len(run.records(phase="fault")) == 11
    assert [r.op for r in run.records(phase="fault", ops=[Op.WRITE])] == [Op.WRITE]
    assert len(run.records(phase="latency")) == 4  # a fault id is a window too
    assert len(run.records()) == 31
    with pytest.raises(ValueError, match="baseline, fault, recovery"):
        run.records(phase="nope")


def test_interrupted_run_ends_at_the_last_record_or_sample(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path, run={"run_id": "x", "status": "running", "started_at": T0})
    b.event(0, "run_start").phases(("baseline", 0, 10))
    b.event(10, "phase_start", phase="fault").fault("partition", 11, None, type_="partition")
    b.read(15.0, key=1, version=1, took=0.5)  # completes at 15.5
    b.sample(14.0, redis={"r1": _redis(1, 1)})
    b.op(16.0, 17.0, Op.FINAL_READ, 1, 1, layer=Layer.L1)  # after the run: does not extend it
    run = RunData.load(b.write_dir())

    assert run.status == "interrupted" and run.interrupted
    assert run.end == T0 + 15.5
    fault_phase = run.phase("fault")
    assert fault_phase.end == T0 + 15.5 and not fault_phase.closed
    partition = run.fault("partition")
    assert partition.end == T0 + 15.5 and not partition.closed
    assert run.phase_of(T0 + 15.0) == "fault"


def test_missing_phase_end_is_closed_by_the_next_phase(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.event(0, "phase_start", phase="baseline").event(5, "phase_start", phase="fault").event(8, "phase_end", phase="fault")
    b.event(9, "run_end", status="aborted")
    run = RunData.load(b.write_dir())
    assert [(p.name, p.end - T0, p.closed) for p in run.phases] == [("baseline", 5, False), ("fault", 8, True)]
    assert run.status == "aborted"


def test_empty_directory_loads(tmp_path: Path) -> None:
    run = RunData.load(tmp_path)
    assert run.history == [] and run.phases == [] and run.status == "interrupted"
    assert run.series("rps") == [] and run.series("l2_hit_rate") == []
    with pytest.raises(FileNotFoundError):
        RunData.load(tmp_path / "missing")


def test_redis_counter_reset_never_gives_negative_deltas(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.sample(0, redis={"r1": _redis(100, 100), "r2": _redis(0, 0)})
    b.sample(1, redis={"r1": _redis(190, 110), "r2": _redis(0, 0)})        # +90 hits, +10 misses
    b.sample(2, redis={"r1": _redis(20, 5), "r2": _redis(10, 0)})          # r1 restarted: +20/+5; r2 +10/0
    b.sample(3, redis={"r1": {"up": False}, "r2": _redis(10, 10)})         # r1 down: r2 only, 0/+10
    b.sample(4, redis={"r1": _redis(30, 5), "r2": _redis(10, 10)})         # r1 back: +10/0 since its last values
    b.sample(5, redis={"r1": _redis(30, 5), "r2": _redis(10, 10)})         # nothing happened: no point
    run = RunData.load(b.write_dir())
    series = [(t - T0, v) for t, v in run.series("l2_hit_rate")]
    assert series == [(1, 0.9), (2, pytest.approx(30 / 35)), (3, 0.0), (4, 1.0)]


def test_db_qps_from_pg_counters_with_a_restart(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.sample(0, postgres={"up": True, "xact_commit": 1000, "xact_rollback": 10})
    b.sample(1, postgres={"up": True, "xact_commit": 1100, "xact_rollback": 10})   # 100/s
    b.sample(2, postgres={"up": False})
    b.sample(3, postgres={"up": True, "xact_commit": 1300, "xact_rollback": 12})   # 202 over 2 s
    b.sample(4, postgres={"up": True, "xact_commit": 50, "xact_rollback": 0})      # restarted: 50
    run = RunData.load(b.write_dir())
    assert [(t - T0, v) for t, v in run.series("db_qps")] == [(1, 100.0), (3, 101.0), (4, 50.0)]
    assert all(v >= 0 for _, v in run.series("db_qps"))


def test_history_series_by_second(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.event(0, "run_start").event(4.5, "run_end", status="finished")
    b.read(0.1, 1, 1, layer=Layer.L1, took=0.010)
    b.read(0.2, 1, 1, layer=Layer.L2, took=0.020)
    b.read(0.3, 1, 1, layer=Layer.MISS, took=0.030)
    b.read(0.4, 1, 1, layer=Layer.L1, took=0.040)
    b.read(2.1, 1, 1, layer=Layer.MISS, status=503, took=1.0)
    b.op(2.2, 2.3, Op.ORDER, 1, 2, status=201)
    b.write(1.5, 1.6, 1, 2).read(3.0, 1, 1, layer=Layer.L1)   # stale at 3.0 (v2 acked at 1.6)
    run = RunData.load(b.write_dir())

    def at(name: str) -> dict[float, float]:
        return {t - T0: v for t, v in run.series(name)}

    assert at("rps") == {0: 4, 1: 1, 2: 2, 3: 1, 4: 0}   # second 4 had no requests: 0, not missing
    assert at("error_rate") == {0: 0, 1: 0, 2: 0.5, 3: 0}
    # Latencies are differences of unix times near 1.7e9: exact to about a microsecond.
    assert at("p50_ms") == pytest.approx({0: 20, 1: 100, 2: 100, 3: 1}, abs=1e-3)
    assert at("p99_ms") == pytest.approx({0: 40, 1: 100, 2: 1000, 3: 1}, abs=1e-3)
    # The failed read at 2.1 s was served by no cache: an outage is a hit rate of 0, not a gap.
    assert at("l1_hit_rate") == {0: 0.5, 2: 0.0, 3: 1.0}
    assert at("hit_rate") == {0: 0.75, 2: 0.0, 3: 1.0}
    assert at("layer_share:miss") == {0: 0.25, 3: 0.0}
    assert at("stale_reads") == {0: 0, 1: 0, 2: 0, 3: 1, 4: 0}
    with pytest.raises(ValueError, match="l2_hit_rate"):
        run.series("hit_ratio")
