"""stale_read_rate against an independent O(n^2) oracle and hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachechaos.checks import RunData
from cachechaos.checks.criteria import Criterion, evaluate_one
from cachechaos.checks.stale_reads import UnjudgedReads, stale_read_rate
from cachechaos.history import Layer, Op, Record
from tests.checks.rundirs import T0, RunDirBuilder

# -- the oracle: the definition of docs/definitions.md read literally, with no cleverness -----------------


def oracle_stale(records: list[Record], window: float, start: float | None = None,
                 end: float | None = None) -> list[tuple[Record, float]]:
    """Stale reads at `window` with their age (read invoke - earliest ack of a newer write of its key).

    A list, not a dict: a history may hold two identical records and both count."""
    out: list[tuple[Record, float]] = []
    for read in records:
        if read.op != Op.READ or not 200 <= read.status < 300 or read.version < 0:
            continue
        if start is not None and end is not None and not start <= read.invoke < end:
            continue
        acks = [w.complete for w in records
                if w.op in (Op.WRITE, Op.DISCOUNT_WRITE) and 200 <= w.status < 300
                and w.key == read.key and w.version > read.version]
        if any(a < read.invoke - window for a in acks):
            out.append((read, read.invoke - min(acks)))
    return out


def oracle_reads(records: list[Record], start: float | None = None, end: float | None = None) -> int:
    return len([r for r in records if r.op == Op.READ and 200 <= r.status < 300 and r.version >= 0
                and (start is None or end is None or start <= r.invoke < end)])


# -- generated histories ---------------------------------------------------------------------

# Quarter-second steps make equal times (ack exactly at t - w) common, where off-by-one bugs live.
times = st.integers(min_value=0, max_value=80).map(lambda q: T0 + q / 4)
durations = st.integers(min_value=0, max_value=12).map(lambda q: q / 4)


@st.composite
def operations(draw: st.DrawFn) -> Record:
    """Any operation: arbitrary versions (split brain can hand out anything), overlaps, failures."""
    op = draw(st.sampled_from([Op.READ, Op.READ, Op.READ, Op.WRITE, Op.WRITE, Op.DISCOUNT_WRITE,
                               Op.CART_WRITE, Op.ABSENT_READ]))
    invoke = draw(times)
    return Record(
        invoke=invoke,
        complete=invoke + draw(durations),  # overlapping requests: a write may still be in flight
        key=draw(st.integers(0, 2)),
        version=draw(st.integers(-1, 6)),  # -1: unknown version (a failed write does not know it)
        client=draw(st.integers(0, 3)),
        status=draw(st.sampled_from([200, 200, 200, 200, 200, 201, 404, 500, 503, 0])),
        op=int(op),
        layer=draw(st.sampled_from(list(Layer))),
        process=draw(st.sampled_from(["load-0", "load-1"])),
    )


@st.composite
def register_histories(draw: st.DrawFn) -> list[Record]:
    """A history shaped like a real one: per key, writes commit versions 1, 2, 3, ... (some fail and
    commit nothing); reads return some version up to the newest committed, often a lagging one."""
    records: list[Record] = []
    committed: dict[int, int] = {}
    for _ in range(draw(st.integers(5, 60))):
        key = draw(st.integers(0, 2))
        invoke = draw(times)
        complete = invoke + draw(durations)
        process = draw(st.sampled_from(["load-0", "load-1"]))
        if draw(st.integers(0, 2)) == 0:
            failed = draw(st.integers(0, 4)) == 0
            version = -1 if failed else committed.get(key, 0) + 1
            if not failed:
                committed[key] = version
            op = draw(st.sampled_from([Op.WRITE, Op.DISCOUNT_WRITE]))
            status = draw(st.sampled_from([500, 0])) if failed else 200
            records.append(Record(invoke, complete, key, version, 0, status, int(op), 0, process))
        else:
            version = draw(st.integers(0, committed.get(key, 0) + 1))
            status = draw(st.sampled_from([200, 200, 200, 200, 503]))
            layer = draw(st.sampled_from([Layer.L1, Layer.L2, Layer.MISS]))
            records.append(Record(invoke, complete, key, version, 1, status, int(Op.READ), int(layer), process))
    return records


histories = st.one_of(st.lists(operations(), min_size=1, max_size=80), register_histories())
windows = st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0])


def _run(records: list[Record], journal: list[dict] | None = None) -> RunData:
    return RunData.build({"status": "finished"}, journal or [], [], records)


@settings(max_examples=300, deadline=None)
@given(histories, windows)
def test_finds_exactly_the_stale_reads_of_the_oracle(records: list[Record], window: float) -> None:
    run = _run(records)
    expected = oracle_stale(records, window)
    found = sorted((s.read, s.age) for s in run.stale_reads() if s.stale_at(window))
    assert found == sorted(expected)
    at_zero = sorted(age for _, age in oracle_stale(records, 0.0))
    assert sorted(s.age for s in run.stale_reads()) == at_zero  # stale_reads() is the window-0 set

    m = stale_read_rate(run, window_s=window, max_unjudged=1.0)
    total = oracle_reads(records)
    assert m.details["reads"] == total
    assert m.details["stale"] == len(expected)
    assert m.value == (len(expected) / total if total else None)
    for w in ("0", "1", "10", "60"):
        assert m.details["stale_counts"][w] == len(oracle_stale(records, float(w)))
    assert m.details["ages"]["max_s"] == (at_zero[-1] if at_zero else None)
    assert sum(b["count"] for b in m.details["ages"]["histogram"]) == len(at_zero)
    assert sum(v["stale"] for v in m.details["by_layer"].values()) == len(expected)


@settings(max_examples=100, deadline=None)
@given(histories, windows,
       st.integers(0, 60).map(lambda q: q / 4), st.integers(1, 40).map(lambda q: q / 4))
def test_phase_counts_reads_in_the_phase_and_writes_from_anywhere(records: list[Record], window: float,
                                                                 start: float, length: float) -> None:
    journal = [{"t": T0 + start, "event": "phase_start", "phase": "fault"},
               {"t": T0 + start + length, "event": "phase_end", "phase": "fault"}]
    run = _run(records, journal)
    m = stale_read_rate(run, window_s=window, phase="fault", max_unjudged=1.0)
    expected = oracle_stale(records, window, T0 + start, T0 + start + length)
    total = oracle_reads(records, T0 + start, T0 + start + length)
    assert m.details["stale"] == len(expected)
    assert m.details["reads"] == total
    assert m.value == (len(expected) / total if total else None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations(), max_size=40), windows)
def test_same_answer_through_real_history_files(tmp_path_factory: pytest.TempPathFactory,
                                                records: list[Record], window: float) -> None:
    builder = RunDirBuilder(tmp_path_factory.mktemp("run"))
    for r in records:
        builder.op(r.invoke - T0, r.complete - T0, Op(r.op), r.key, r.version, Layer(r.layer), r.status,
                   r.client, r.process)
    run = RunData.load(builder.write_dir())
    assert stale_read_rate(run, window_s=window, max_unjudged=1.0).details["stale"] == len(oracle_stale(records, window))


# -- hand-built cases with answers worked out on paper ------------------------------------------


def test_hand_built_history(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    # key 1: v2 acknowledged at 10.0
    b.write(9.0, 10.0, key=1, version=2)
    b.read(10.5, key=1, version=1, layer=Layer.L1)      # stale at 0 (10.0 < 10.5), not at 1 s: age 0.5
    b.read(10.0, key=1, version=1)                      # ack exactly at the invoke: not stale (strictly before)
    b.read(12.0, key=1, version=2)                      # current
    b.read(75.0, key=1, version=1, layer=Layer.MISS)    # stale at 0, 1, 10 and 60 s: age 65
    # key 2: a write in flight is not acknowledged
    b.write(20.0, 30.0, key=2, version=5)
    b.read(25.0, key=2, version=4)                      # 30.0 is after 25.0: not stale
    b.read(31.5, key=2, version=4)                      # stale at 0 and 1 s (30.0 < 30.5): age 1.5
    # key 3: failed writes never count, whatever version they claim
    b.write(1.0, 2.0, key=3, version=9, status=500)
    b.write(1.0, 2.0, key=3, version=9, status=0)
    b.read(40.0, key=3, version=1)                      # not stale
    # key 4: acks out of version order; the earliest ack of ANY higher version decides
    b.write(11.0, 12.0, key=4, version=3)
    b.write(11.0, 15.0, key=4, version=2)
    b.read(13.0, key=4, version=2)                      # v3 acked at 12: stale, age 1.0
    b.read(16.0, key=4, version=1)                      # v3 at 12 (not v2 at 15): age 4.0, stale at 0 and 1
    b.read(14.0, key=4, version=3)                      # newest: not stale
    # key 5: a discount commits versions too; a cart write with the same number does not
    b.write(1.0, 2.0, key=5, version=7, op=Op.DISCOUNT_WRITE)
    b.read(3.5, key=5, version=6)                       # stale at 0 and 1 s: age 1.5
    b.write(1.0, 2.0, key=6, version=7, op=Op.CART_WRITE)
    b.read(3.5, key=6, version=6)                       # not stale
    # reads that failed or carry no version are not judged
    b.read(50.0, key=1, version=1, status=503)
    b.read(50.0, key=1, version=-1)
    run = RunData.load(b.write_dir())

    m = stale_read_rate(run, max_unjudged=0.1)  # 1 of 13 successful reads has no version
    assert m.details["reads"] == 12 and m.details["unjudged_reads"] == 1
    assert m.details["stale_counts"] == {"0": 6, "1": 4, "10": 1, "60": 1}
    assert m.value == pytest.approx(6 / 12)
    assert stale_read_rate(run, window_s=1.0, max_unjudged=0.1).value == pytest.approx(4 / 12)
    assert stale_read_rate(run, window_s=1.5, max_unjudged=0.1).value == pytest.approx(2 / 12)  # ages 4.0 and 65 only
    assert stale_read_rate(run, window_s=100, max_unjudged=0.1).value == 0.0
    with pytest.raises(UnjudgedReads, match="1 of 13"):  # the default 5% refuses to judge on this evidence
        stale_read_rate(run)

    ages = sorted(e["age_s"] for e in m.details["examples"])
    assert ages == pytest.approx([0.5, 1.0, 1.5, 1.5, 4.0, 65.0])
    assert m.details["ages"]["max_s"] == pytest.approx(65.0)
    assert m.details["ages"]["p50_s"] == pytest.approx(1.5)  # nearest rank: 3rd of 6
    assert m.details["by_layer"]["l1"] == {"reads": 1, "stale": 1, "stale_rate": 1.0, "share_of_stale": 1 / 6}
    assert m.details["by_layer"]["miss"]["stale"] == 1
    first = next(e for e in m.details["examples"] if e["key"] == 4 and e["version_seen"] == 1)
    assert first["newer_version"] == 3
    assert first["newer_acked_at"] == pytest.approx(T0 + 12.0)
    assert first["process"] == "load-0"


def test_no_reads_is_not_measurable_but_no_stale_reads_is_zero(tmp_path: Path) -> None:
    empty = RunData.load(RunDirBuilder(tmp_path / "a").write(1, 2, key=1, version=1).write_dir())
    assert stale_read_rate(empty).value is None
    clean = RunData.load(RunDirBuilder(tmp_path / "b").write(1, 2, key=1, version=1).read(3, 1, 1).write_dir())
    assert stale_read_rate(clean).value == 0.0


def test_reads_without_versions_above_the_share_are_an_error_not_a_pass(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).write(1, 2, key=1, version=2)
    for i in range(10):
        b.read(3 + i, key=1, version=2 if i < 8 else -1)  # 2 of 10 without a version
    run = RunData.load(b.write_dir())
    with pytest.raises(UnjudgedReads, match=r"20\.0%"):
        stale_read_rate(run)
    assert stale_read_rate(run, max_unjudged=0.25).value == 0.0
    # Through a criterion the refusal is a failed verdict that says why, never a pass.
    verdict = evaluate_one(run, Criterion(check="stale_read_rate", max=0.01))
    assert not verdict.passed and verdict.measured is None and "no version" in verdict.details["error"]


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        stale_read_rate(_run([]), window_s=-1)


def test_examples_are_capped_at_20() -> None:
    records = [Record(T0, T0 + 1, 1, 2, 0, 200, int(Op.WRITE), 0)]
    records += [Record(T0 + 2 + i, T0 + 2.1 + i, 1, 1, 0, 200, int(Op.READ), int(Layer.L2)) for i in range(30)]
    m = stale_read_rate(_run(records))
    assert m.details["stale"] == 30 and len(m.details["examples"]) == 20


def oracle_worst_span(records: list[Record], window: float, start: float, end: float, span: int) -> float | None:
    """The highest stale share over stretches [start + i, start + i + span) of whole seconds, by brute force."""
    last = max((r.invoke for r in records if r.op == Op.READ and 200 <= r.status < 300 and r.version >= 0
                and start <= r.invoke < end), default=None)
    if last is None:
        return None
    seconds = int((last - start) // 1) + 1
    k = min(span, seconds)
    best = 0.0
    for i in range(seconds - k + 1):
        a, b = start + i, start + i + k
        reads = oracle_reads(records, a, b)
        if reads:
            best = max(best, len(oracle_stale(records, window, a, b)) / reads)
    return best


@settings(max_examples=150, deadline=None)
@given(histories, windows, st.integers(1, 12), st.integers(4, 20))
def test_worst_span_is_the_worst_stretch_of_whole_seconds(records: list[Record], window: float, span: int,
                                                          length: int) -> None:
    journal = [{"t": T0, "event": "phase_start", "phase": "fault"},
               {"t": T0 + length, "event": "phase_end", "phase": "fault"}]
    m = stale_read_rate(_run(records, journal), window_s=window, phase="fault", max_unjudged=1.0,
                        worst_span_s=span)
    expected = oracle_worst_span(records, window, T0, T0 + length, span)
    assert m.value == pytest.approx(expected) if expected is not None else m.value is None
    # The whole phase's share stays in the details.
    plain = stale_read_rate(_run(records, journal), window_s=window, phase="fault", max_unjudged=1.0)
    assert m.details["whole_fraction"] == plain.value


@settings(max_examples=100, deadline=None)
@given(histories, st.integers(2, 8), st.integers(4, 10))
def test_a_longer_observation_never_has_a_better_worst_span(records: list[Record], span: int, length: int) -> None:
    """What makes the figure hold under --scale: the longer phase contains every stretch of the shorter."""
    def worst(phase_length: int) -> float | None:
        journal = [{"t": T0, "event": "phase_start", "phase": "fault"},
                   {"t": T0 + phase_length, "event": "phase_end", "phase": "fault"}]
        return stale_read_rate(_run(records, journal), window_s=0.0, phase="fault", max_unjudged=1.0,
                               worst_span_s=span).value
    short, long = worst(length), worst(length * 2)
    if short is not None and long is not None:
        last_short = max(r.invoke for r in records if r.op == Op.READ and T0 <= r.invoke < T0 + length
                         and 200 <= r.status < 300 and r.version >= 0)
        if last_short - T0 >= span - 1:  # the short phase held at least one whole stretch
            assert long >= short


def test_a_read_inside_the_workers_clock_uncertainty_is_not_counted_stale(tmp_path: Path) -> None:
    """Worker load-1's clock was corrected to within 10 ms: a read 15 ms after the ack may have been sent
    before it (15 < 10 + 10 of the writer's bound), one 30 ms after it cannot."""
    b = RunDirBuilder(tmp_path).write(0.0, 1.0, key=1, version=2, process="load-0")
    b.op(1.015, 1.02, Op.READ, 1, 1, Layer.L2, process="load-1").op(1.030, 1.04, Op.READ, 1, 1, Layer.L2,
                                                                      process="load-1")
    run_dir = b.write_dir()
    plain = stale_read_rate(RunData.load(run_dir))
    assert plain.details["stale"] == 2 and plain.details["inside_clock_uncertainty"] == 0
    assert plain.details["clock_uncertainty_s"] == 0.0
    (run_dir / "load").mkdir(exist_ok=True)
    (run_dir / "load" / "clocks.json").write_text(
        '{"workers": {"load-0": {"max_uncertainty_s": 0.002}, "load-1": {"max_uncertainty_s": 0.010}}}')
    m = stale_read_rate(RunData.load(run_dir))
    assert m.details["stale"] == 1 and m.details["inside_clock_uncertainty"] == 1, m.details
    assert m.details["clock_uncertainty_s"] == pytest.approx(0.020)
    assert m.value == pytest.approx(0.5)
