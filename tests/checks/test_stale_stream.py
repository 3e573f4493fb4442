"""Stale reads counted as the history grows (StaleStream over HistoryTail) agree with the whole-run check."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cachechaos.checks.stale_stream import StaleStream
from cachechaos.checks.staleness import Staleness, judged_reads
from cachechaos.errors import Aborted, aborting_on_signals
from cachechaos.experiment.live import LiveState, LiveView
from cachechaos.history import HistoryWriter, Layer, Op, Record
from cachechaos.history.columns import Columns, HistoryTail, read_columns
from cachechaos.history.format import MAGIC, RECORD
from tests.checks.rundirs import T0
from tests.checks.test_columnar_equivalence import histories


def _batch(records: list[Record]) -> tuple[int, int]:
    c = Columns.from_records(records)
    return len(Staleness.of(c)), int(np.count_nonzero(judged_reads(c)))


def _arrival_order(records: list[Record]) -> list[Record]:
    # A record reaches its file when the request completes.
    return sorted(records, key=lambda r: r.complete)


@settings(max_examples=200, deadline=None)
@given(histories(), st.lists(st.integers(1, 30), min_size=1, max_size=10))
def test_counts_in_arriving_chunks_equal_the_whole_run(records: list[Record], sizes: list[int]) -> None:
    stream = StaleStream(window_s=1e9)
    arriving = _arrival_order(records)
    at = 0
    while at < len(arriving):
        chunk = arriving[at:at + sizes[at % len(sizes)]]
        stream.add(Columns.from_records(chunk))
        at += len(chunk)
        assert stream.reads <= _batch(records)[1]  # never judges a read twice
    stream.finish()
    assert (stream.stale, stream.reads) == _batch(records)
    assert stream.recent == (stream.stale, stream.reads)  # a window longer than the run holds everything


@settings(max_examples=100, deadline=None)
@given(histories())
def test_folding_old_writes_keeps_the_answer(records: list[Record]) -> None:
    """retain_s 0: every write leaves the buffer as soon as the watermark passes it; requests in these
    histories take at most 2.5 s, under settle_s, so every read still meets every write it must."""
    stream = StaleStream(retain_s=0.0, settle_s=3.0)
    for r in _arrival_order(records):
        stream.add(Columns.from_records([r]))
    stream.finish()
    assert (stream.stale, stream.reads) == _batch(records)


def _second(s: int) -> list[Record]:
    """Each second writes version s + 1 of every key (0..6); its reads still see version s."""
    return [Record(T0 + s + i / 100, T0 + s + i / 100 + 0.01, i % 7, s + (i % 10 == 0), 0, 200,
                   int(Op.WRITE if i % 10 == 0 else Op.READ), int(Layer.L2), "load-0") for i in range(100)]


def test_memory_is_bounded_by_the_retained_seconds() -> None:
    stream = StaleStream(retain_s=5.0, settle_s=1.0, window_s=10.0)
    for second in range(120):
        stream.add(Columns.from_records(_second(second)))
    assert stream._writes is not None and len(stream._writes) <= 7 * 10  # ~6 s of writes, not 120 s
    assert len(stream._per_second) <= 10
    assert stream.reads == 90 * 119 and 0 < stream.stale < stream.reads  # the last second is not judged yet
    stream.finish()
    assert (stream.stale, stream.reads) == _batch([r for s in range(120) for r in _second(s)])


def test_tail_reads_each_record_once_and_waits_for_a_torn_one(tmp_path: Path) -> None:
    run_dir = tmp_path
    tail = HistoryTail(run_dir)
    assert len(tail.read_new()) == 0  # no history yet
    w0 = HistoryWriter(run_dir / "history" / "load-0.hist")
    w0.record(T0 + 1, T0 + 1.1, int(Op.WRITE), 1, 2, 0, 200)
    w0.flush()
    assert tail.read_new().version.tolist() == [2]
    assert len(tail.read_new()) == 0
    w1 = HistoryWriter(run_dir / "history" / "load-1.hist")  # a process that starts later
    w1.record(T0 + 0.5, T0 + 0.6, int(Op.READ), 1, 1, int(Layer.L1), 200)
    w1.flush()
    w0.record(T0 + 2, T0 + 2.1, int(Op.READ), 1, 2, int(Layer.L2), 200)
    w0.flush()
    new = tail.read_new()
    assert new.invoke.tolist() == [T0 + 0.5, T0 + 2] and [new.processes[p] for p in new.process] == ["load-1", "load-0"]
    w0.close()
    w1.close()
    # Half a record, as a flush in progress leaves it: not read until the rest arrives.
    packed = RECORD.pack(T0 + 3, T0 + 3.1, 1, 1, 0, 200, int(Op.READ), int(Layer.MISS), T0 + 3)
    with open(run_dir / "history" / "load-1.hist", "ab") as f:
        f.write(packed[:20])
    assert len(tail.read_new()) == 0
    with open(run_dir / "history" / "load-1.hist", "ab") as f:
        f.write(packed[20:])
    assert tail.read_new().version.tolist() == [1]
    tail.close()
    whole = read_columns(run_dir)
    assert len(whole) == 4 and (run_dir / "history" / "load-0.hist").read_bytes().startswith(MAGIC)


def test_live_view_counts_stale_reads_from_the_files(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "history" / "load-0.hist")
    now = time.time()
    w.record(now - 30, now - 29.9, int(Op.WRITE), 1, 2, 0, 200)
    w.record(now - 20, now - 19.99, int(Op.READ), 1, 1, int(Layer.L1), 200)   # stale
    w.record(now - 19, now - 18.99, int(Op.READ), 1, 2, int(Layer.L2), 200)   # current
    w.record(now - 0.5, now - 0.4, int(Op.READ), 1, 1, int(Layer.L1), 200)    # too new to judge yet
    w.close()
    state = LiveState("exp", 60.0, ["baseline"])
    with LiveView(Console(file=io.StringIO()), state, tmp_path, enabled=False) as view:
        view.refresh()
    assert state.stale == (1, 2)


def test_a_ctrl_c_landing_in_the_live_stale_count_stops_the_run(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The live view swallows its own failures, never the operator's SIGINT (raised where it lands)."""
    def interrupted(self: StaleStream, columns: Columns) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)  # the handler raises here, inside the live view's guarded block
        raise AssertionError("SIGINT was not delivered")

    HistoryWriter(tmp_path / "history" / "load-0.hist").close()
    monkeypatch.setattr(StaleStream, "add", interrupted)
    with aborting_on_signals(), pytest.raises(Aborted), \
            LiveView(Console(file=io.StringIO()), LiveState("exp", 60.0, ["baseline"]), tmp_path, enabled=False) as view:
        view.refresh()
