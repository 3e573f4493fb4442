"""The vectorized checks give the reference (per-record) implementations' answers, detail for detail.

Histories are generated with what makes the checks hard: several processes, concurrent and
overlapping writes, failed writes, unknown versions (-1), reads lagging behind, equal times,
final reads that succeed, 404 or fail, and phases cutting through all of it.
"""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from cachechaos.checks import monotonic, staleness
from cachechaos.checks.durability import lost_writes
from cachechaos.checks.errors import error_rate
from cachechaos.checks.hits import hit_rate
from cachechaos.checks.latency_slo import latency
from cachechaos.checks.monotonic import monotonic_reads
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import history_series
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.history import Layer, Op, Record
from cachechaos.history.columns import Columns
from tests.checks import reference_checks as ref
from tests.checks.rundirs import T0, RunDirBuilder

PROCESSES = ["load-0", "load-1", "load-2"]
# Quarter-second steps make equal times (an ack exactly at a read's invoke) common.
times = st.integers(min_value=0, max_value=60).map(lambda q: T0 + q / 4)
durations = st.integers(min_value=0, max_value=10).map(lambda q: q / 4)


@st.composite
def histories(draw: st.DrawFn) -> list[Record]:
    """Per key, writes commit 1, 2, 3, ... (or, split brain, a version already handed out); some fail with
    an unknown version; reads see some committed version, often a lagging one; carts alongside; final reads."""
    records: list[Record] = []
    committed: dict[tuple[str, int], int] = {}
    for _ in range(draw(st.integers(1, 70))):
        kind = draw(st.sampled_from(["product", "product", "cart"]))
        key = draw(st.integers(0, 3))
        invoke = draw(times)
        complete = invoke + draw(durations)  # overlapping requests: a write may still be in flight
        intended = draw(st.sampled_from([0.0, invoke, invoke - 0.5]))
        process = draw(st.sampled_from(PROCESSES))
        client = draw(st.integers(0, 2))
        top = committed.get((kind, key), 0)
        if draw(st.integers(0, 2)) == 0:
            failed = draw(st.integers(0, 4)) == 0
            if failed:
                version, status = -1, draw(st.sampled_from([500, 503, 0]))
            else:
                version = draw(st.sampled_from([top + 1, top + 1, top + 1, max(top, 1), -1]))
                status = draw(st.sampled_from([200, 200, 201]))
                committed[(kind, key)] = max(top, version)
            op = Op.CART_WRITE if kind == "cart" else draw(st.sampled_from([Op.WRITE, Op.WRITE, Op.DISCOUNT_WRITE]))
            records.append(Record(invoke, complete, key, version, client, status, int(op), 0, process, intended))
        else:
            version = draw(st.sampled_from([top, top, max(top - 1, 0), max(top - 2, 0), top + 1, -1]))
            status = draw(st.sampled_from([200, 200, 200, 200, 404, 503, 0]))
            layer = draw(st.sampled_from(list(Layer)))
            op = Op.CART_READ if kind == "cart" else draw(st.sampled_from([Op.READ, Op.READ, Op.READ, Op.ABSENT_READ]))
            records.append(Record(invoke, complete, key, version, client, status, int(op), int(layer), process, intended))
    end = T0 + 20
    for kind, key in sorted({(k, key) for k, key in committed} | set(draw(st.lists(
            st.tuples(st.sampled_from(["product", "cart"]), st.integers(0, 3)), max_size=3)))):
        for _ in range(draw(st.integers(0, 2))):  # none, one, or a second that overrides or fails
            status = draw(st.sampled_from([200, 200, 404, 503]))
            version = draw(st.integers(-1, committed.get((kind, key), 0) + 1))
            layer = 1 if kind == "cart" else 2
            records.append(Record(end, end + 0.01, key, version, 0, status, int(Op.FINAL_READ), layer, "runner", end))
    return records


phases = st.lists(st.tuples(st.integers(0, 50), st.integers(1, 30)), max_size=3)


def _journal(spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    journal: list[dict[str, Any]] = []
    for i, (start, length) in enumerate(spans):
        journal += [{"t": T0 + start / 4, "event": "phase_start", "phase": f"p{i}"},
                    {"t": T0 + (start + length) / 4, "event": "phase_end", "phase": f"p{i}"}]
    return journal


def _assert_equal_checks(records: list[Record], run: RunData, window: float, phase: str | None) -> None:
    reference = ref.ReferenceRun(records, run)

    for span in (None, 1, 3):
        m = stale_read_rate(run, window_s=window, phase=phase, max_unjudged=1.0, worst_span_s=span)
        assert (m.value, m.details) == ref.stale_read_rate(reference, window, phase, span)
    # Steer generation towards histories where there is something to find.
    target(float(m.details["stale_counts"]["0"]), label="stale reads")
    for op in ("product", "cart"):
        m = lost_writes(run, op=op)
        assert (m.value, m.details) == ref.lost_writes(reference, op)
        target(float(m.details["duplicate_versions"] + m.details["missing_at_end"]), label=f"lost {op} writes")
    m = monotonic_reads(run)
    assert (m.value, m.details) == ref.monotonic_reads(reference)
    target(float(m.details["violating_reads"]), label="monotonic violations")
    for layer, hot in (("any", None), ("l2", None), ("l1", 2)):
        m = hit_rate(run, layer=layer, phase=phase, hot_keys=hot)  # type: ignore[arg-type]
        assert (m.value, m.details) == ref.hit_rate(reference, layer, phase, hot)
    m = error_rate(run, phase=phase)
    assert (m.value, m.details) == ref.error_rate(reference, phase)
    assert history_series(run.columns, run.start, run.end) == ref.history_series(reference.history, run.start, run.end)
    for route, measure in (("catalog", "response"), ("cart", "service"), ("product_write", "response")):
        m = latency(run, route=route, percentile=99, phase=phase, measure=measure)  # type: ignore[arg-type]
        assert (m.value, m.details) == ref.latency(reference, route, 99, phase, measure)


@settings(max_examples=300, deadline=None)
@given(histories(), phases, st.sampled_from([0.0, 0.25, 1.0, 2.5, 60.0]), st.data())
def test_vectorized_checks_equal_the_reference(records: list[Record], spans: list[tuple[int, int]], window: float,
                                               data: st.DataObject) -> None:
    run = RunData.build({"status": "finished"}, _journal(spans), [], records)
    phase = data.draw(st.sampled_from([None, *(w.name for w in run.phases)]))
    _assert_equal_checks(records, run, window, phase)


# Clock uncertainties of load workers (load/clocks.json): none, or per process, in steps that meet the quarter seconds.
clocks = st.one_of(st.none(), st.fixed_dictionaries({p: st.sampled_from([0.0, 0.125, 0.25]) for p in PROCESSES}))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories(), st.sampled_from([0.0, 1.0]), clocks)
def test_equal_through_history_files(tmp_path_factory: pytest.TempPathFactory, records: list[Record],
                                     window: float, uncertainty: dict[str, float] | None) -> None:
    """Through real files (HistoryWriter, one per process) and RunData.load, the columnar reader; with
    load workers' clock uncertainties when drawn."""
    builder = RunDirBuilder(tmp_path_factory.mktemp("run"))
    for r in records:
        builder.op(r.invoke - T0, r.complete - T0, Op(r.op), r.key, r.version, Layer(r.layer), r.status,
                   r.client, r.process)
    run_dir = builder.write_dir()
    if uncertainty is not None:
        (run_dir / "load").mkdir(exist_ok=True)
        (run_dir / "load" / "clocks.json").write_text(json.dumps(
            {"workers": {p: {"max_uncertainty_s": u} for p, u in uncertainty.items()}}))
    run = RunData.load(run_dir)
    # What the files hold: intended = invoke (the builder does not record one), files read in name order.
    on_disk = [r._replace(intended=r.invoke) for p in sorted({r.process for r in records})
               for r in records if r.process == p]
    _assert_equal_checks(on_disk, run, window, None)



@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 7))
def test_stale_reads_judged_in_blocks_or_by_binary_search_are_the_same(records: list[Record], block: int) -> None:
    """Staleness.of works through the reads in blocks of staleness.BLOCK records (millions in a real
    run); blocks of a few records here make every history cross block boundaries."""
    columns = Columns.from_records(records)
    whole = staleness.Staleness.of(columns)
    with patch.object(staleness, "BLOCK", block):
        blocked = staleness.Staleness.of(columns)
    # Keys and versions of a wide range are looked up by binary search instead of a table.
    with patch.object(staleness._RankTable, "DENSE_LIMIT", 0):
        searched = staleness.Staleness.of(columns)
    for name in ("reads", "newer_acked_at", "newer_version"):
        assert getattr(blocked, name).tolist() == getattr(whole, name).tolist()
        assert getattr(searched, name).tolist() == getattr(whole, name).tolist()


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(1, 7))
def test_monotonic_reads_in_parts_by_key_are_the_same(records: list[Record], block: int) -> None:
    """monotonic_reads splits the reads by key into parts of monotonic.BLOCK (millions in a real run),
    orders times by their bit patterns and lifts versions as they are unless they span too much."""
    run = RunData.build({"status": "finished"}, [], [], records)
    with patch.object(monotonic, "BLOCK", block):
        m = monotonic_reads(run)
    expected = ref.monotonic_reads(ref.ReferenceRun(records, run))
    assert (m.value, m.details) == expected
    # Times ranked among the completions instead of ordered by their bit patterns, versions ranked
    # instead of used as they are, and both.
    for limits in ({"TIME_SPAN_LIMIT": 0}, {"VERSION_SPAN_LIMIT": 0}, {"TIME_SPAN_LIMIT": 0, "VERSION_SPAN_LIMIT": 0}):
        with patch.multiple(monotonic, **limits):
            m = monotonic_reads(run)
        assert (m.value, m.details) == expected, limits
