"""The run's judging and reporting path over columns gives what it gave over a Record per operation.

A run of tens of millions of operations must be judged and reported without a Python object per
operation: load fidelity (runner), failover time, oversell and latency (checks), the per-route timelines,
the last request and the history series (report), the written keys (final reads) now read the
columns. Each is compared with the per-record version it replaced (reference_reporting.py,
reference_checks.py) on generated histories, with blocks of a few records so that every history
is worked through in several blocks of whole seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachechaos.checks.failover import failover_time
from cachechaos.checks.latency_slo import latency
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import history_series
from cachechaos.checks.stock import oversell
from cachechaos.experiment.final_reads import written_keys
from cachechaos.history import Layer, Op, Record, by_second, columns
from cachechaos.report.timelines import Grid, RouteStats, last_request
from cachechaos.traffic.config import CatalogModel, ProcessConfig
from cachechaos.traffic.fidelity import load_fidelity
from cachechaos.traffic.spec import TrafficSpec
from tests.checks import reference_checks as ref
from tests.checks import reference_reporting as ref_report
from tests.checks.rundirs import T0, RunDirBuilder
from tests.checks.test_columnar_equivalence import PROCESSES, durations, histories, times


@st.composite
def runs(draw: st.DrawFn) -> list[Record]:
    """The checks' histories plus what they lack: orders (qty in the version), discounts, arrivals dropped."""
    records = draw(histories())
    for _ in range(draw(st.integers(0, 15))):
        invoke = draw(times)
        op = draw(st.sampled_from([Op.ORDER, Op.ORDER, Op.DISCOUNT, Op.DROPPED]))
        status = 0 if op == Op.DROPPED else draw(st.sampled_from([201, 201, 409, 500, 0]))
        records.append(Record(invoke, invoke + draw(durations), draw(st.integers(0, 3)), draw(st.integers(-1, 4)),
                              draw(st.integers(0, 2)), status, int(op), 0, draw(st.sampled_from(PROCESSES)),
                              draw(st.sampled_from([0.0, invoke, invoke - 0.75]))))
    return records


def _journal(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Maybe a run start after the first requests (they land in second 0 of the report, truncated),
    and maybe a fault (failover time is measured from its injection)."""
    journal: list[dict[str, Any]] = []
    if draw(st.booleans()):
        journal.append({"t": T0 + draw(st.integers(0, 12)) / 4 + 0.3, "event": "run_start"})
    if draw(st.integers(0, 3)):  # mostly: failover time has something to measure
        inject = T0 + draw(st.integers(0, 40)) / 4
        journal += [{"t": inject, "event": "inject", "fault": "f", "type": "flushall", "phase": "fault",
                    "target": "redis-1", "params": {}, "ok": True},
                    {"t": inject + 3, "event": "heal", "fault": "f", "type": "flushall", "phase": "fault",
                    "target": "redis-1", "params": {}, "ok": True}]
    return journal


def _configs(shape: dict[str, Any]) -> list[ProcessConfig]:
    spec = TrafficSpec.model_validate({"processes": len(PROCESSES) + 1, "shape": shape})
    return [ProcessConfig(name=name, index=i, spec=spec, catalog=CatalogModel(products=4, categories=1, users=3),
                          backends=["http://127.0.0.1:1"], history_path=Path("h"), stats_path=Path("s"),
                          start_at=T0, duration_s=15, run_time_s=20, seed=7 + i)
            for i, name in enumerate([*PROCESSES, "load-idle"])]  # one process that recorded nothing


OPEN, CLOSED = _configs({"kind": "arrival", "rate_per_s": 8}), _configs({"kind": "steady", "users": 2})


@settings(max_examples=200, deadline=None)
@given(runs(), st.integers(1, 9), st.data())
def test_judging_and_reporting_over_columns_equal_the_per_record_path(records: list[Record], block: int,
                                                                      data: st.DataObject) -> None:
    run = RunData.build({"status": "finished"}, _journal(data.draw), [], records)
    reference = ref.ReferenceRun(records, run)
    history = reference.history

    for configs in (OPEN, CLOSED, OPEN[1:2]):
        mine, theirs = load_fidelity(configs, run.columns), ref_report.load_fidelity(configs, history)
        assert mine is not None and theirs is not None and mine.to_dict() == theirs.to_dict()
    for op in ("cart", "product"):
        for hold_s in (0.25, 0.5, 2.0):
            m = failover_time(run, op=op, hold_s=hold_s)  # type: ignore[arg-type]
            assert (m.value, m.details) == ref.failover_time(reference, op, hold_s)
    for stock in (0, 2, 5):
        m = oversell(run, stock=stock)
        assert (m.value, m.details) == ref.oversell(reference, stock)
    assert last_request(run) == ref_report.last_request(history, run.end)

    grid = Grid(run.start, run.end)
    # Groups sorted by radix, or (RADIX_SPAN 1) by a stable sort of their int64 values.
    # Times taken a few records at a time as well (Columns.TIMES_BLOCK).
    with patch.multiple(by_second, BLOCK=block, RADIX_SPAN=data.draw(st.sampled_from([by_second.RADIX_SPAN, 1]))), \
            patch.object(columns, "TIMES_BLOCK", block):
        stats = RouteStats(run, grid)
        series = history_series(run.columns, run.start, run.end)
        for route, measure in (("catalog", "response"), ("cart", "service")):
            m = latency(run, route=route, percentile=99, measure=measure)  # type: ignore[arg-type]
            assert (m.value, m.details) == ref.latency(reference, route, 99, None, measure)
    expected = ref_report.route_stats(history, grid.t0, grid.n)
    assert {name: getattr(stats, name) for name in expected} == expected
    assert series == ref.history_series(history, run.start, run.end)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs())
def test_written_keys_read_in_chunks_equal_the_per_record_path(tmp_path_factory: pytest.TempPathFactory,
                                                               records: list[Record]) -> None:
    builder = RunDirBuilder(tmp_path_factory.mktemp("run"))
    for r in records:
        builder.op(r.invoke - T0, r.complete - T0, Op(r.op), r.key, r.version, Layer(r.layer), r.status,
                   r.client, r.process)
    with patch("cachechaos.history.columns.CHUNK_RECORDS", 3):
        keys = written_keys(builder.write_dir())
    assert keys == ref_report.written_keys(records)
    assert keys["products"] or keys["carts"] or not any(r.ok and r.op in (Op.WRITE, Op.CART_WRITE) for r in records)
