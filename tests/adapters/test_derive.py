"""Versions derived from unique written values (derive.py) on generated histories, judged by the unchanged checks."""

from __future__ import annotations

import random
from pathlib import Path

from cachechaos.adapters.derive import derive, derive_run_versions
from cachechaos.adapters.values import FOREIGN, UNKNOWN
from cachechaos.checks.durability import lost_writes
from cachechaos.checks.rundata import RunData
from cachechaos.history import HistoryWriter, Op, Record, read_history
from tests.checks.reference_checks import WriteIndex, find_stale_reads

T = 1_000 * 10**8  # a tag base, as values.py makes them


def rec(op: Op, key: int, tag: int, invoke: float, complete: float, status: int = 200, layer: int = 0) -> Record:
    return Record(invoke, complete, key, tag, 0, status, int(op), layer, "load-0", invoke)


def stale(records: list[Record], window: float = 0.0) -> list[Record]:
    derived, _ = derive(records)
    return [s.read for s in find_stale_reads(derived, WriteIndex(derived)) if s.stale_at(window)]


def test_sequential_writes_number_in_order_and_old_values_are_stale() -> None:
    history = [rec(Op.WRITE, 1, T + 1, 1.0, 1.1), rec(Op.WRITE, 1, T + 2, 2.0, 2.1),
               rec(Op.READ, 1, T + 2, 3.0, 3.01), rec(Op.READ, 1, T + 1, 3.5, 3.51),
               rec(Op.READ, 1, FOREIGN, 1.5, 1.51), rec(Op.READ, 1, FOREIGN, 0.5, 0.51)]
    derived, stats = derive(history)
    assert [r.version for r in derived] == [1, 2, 2, 1, 0, 0]
    assert stats.writes == 2 and stats.reads == 2 and stats.before_run == 2
    assert [r.invoke for r in stale(history)] == [3.5, 1.5]   # the read before any write is not stale
    assert [r.invoke for r in stale(history, window=1.0)] == [3.5]
    assert [r.invoke for r in stale(history, window=1.5)] == []  # acknowledged at 2.1, not before 3.5 - 1.5


def test_overlapping_writes_are_never_held_against_each_other() -> None:
    # B is acknowledged first, but A and B overlap: the service may have applied either last.
    a, b = rec(Op.WRITE, 1, T + 1, 1.0, 1.5), rec(Op.WRITE, 1, T + 2, 1.1, 1.2)
    for read_tag in (T + 1, T + 2):
        assert stale([a, b, rec(Op.READ, 1, read_tag, 2.0, 2.01)]) == []
    # A write invoked after A completed certainly follows it: reading A after it is acknowledged is stale.
    c = rec(Op.WRITE, 1, T + 3, 1.6, 1.7)
    assert len(stale([a, b, c, rec(Op.READ, 1, T + 1, 2.0, 2.01)])) == 1


def test_values_of_other_keys_or_the_future_are_not_this_keys_writes() -> None:
    history = [rec(Op.WRITE, 1, T + 1, 1.0, 1.1), rec(Op.WRITE, 2, T + 2, 1.0, 1.1),
               rec(Op.READ, 1, T + 2, 2.0, 2.01),                      # key 2's value read from key 1
               rec(Op.READ, 1, T + 3, 2.0, 2.01), rec(Op.WRITE, 1, T + 3, 3.0, 3.1),  # a value written only later
               rec(Op.READ, 1, UNKNOWN, 2.0, 2.01), rec(Op.WRITE, 1, T + 4, 4.0, 4.1, status=0)]
    derived, stats = derive(history)
    assert [r.version for r in derived] == [1, 1, 0, 0, 2, UNKNOWN, UNKNOWN]
    assert stats.before_run == 2


def test_lost_writes_from_final_reads_of_values(tmp_path: Path) -> None:
    # Sequential writes of 20 keys; the service kept the third-from-last value of every fifth key.
    rng = random.Random(3)
    history, t, tag = [], 1.0, T
    last: dict[int, list[int]] = {}
    for _ in range(200):
        key = rng.randint(1, 20)
        tag += 1
        history.append(rec(Op.WRITE, key, tag, t, t + 0.01))
        last.setdefault(key, []).append(tag)
        t += 0.05
    for key, tags in last.items():
        kept = tags[-3] if key % 5 == 0 and len(tags) >= 3 else tags[-1]
        history.append(rec(Op.FINAL_READ, key, kept, t + 1, t + 1.01, layer=2))
    derived, _ = derive(history)
    writer = HistoryWriter(tmp_path / "history" / "load-0.hist")
    for r in derived:
        writer.record(r.invoke, r.complete, r.op, r.key, r.version, r.layer, r.status)
    writer.close()
    run = RunData.build({}, [], [], read_history(tmp_path))
    measured = lost_writes(run, "product")
    expected = sum(2 for key, tags in last.items() if key % 5 == 0 and len(tags) >= 3)
    assert expected > 0 and measured.value == expected
    assert measured.details["judged"] == 200


def test_run_directory_keeps_the_raw_files_and_derives_again_from_them(tmp_path: Path) -> None:
    history = tmp_path / "history"
    writer = HistoryWriter(history / "load-0.hist")
    writer.record(1.0, 1.1, Op.WRITE, 1, T + 1, 0, 200)
    writer.record(2.0, 2.1, Op.READ, 1, T + 1, 1, 200)
    writer.close()
    for _ in range(2):  # idempotent: the second pass starts from history/raw again
        stats = derive_run_versions(history)
        assert [r.version for r in read_history(tmp_path)] == [1, 1]
    assert stats.reads == 1 and (history / "raw" / "load-0.hist").exists() and (history / "versions.json").exists()
