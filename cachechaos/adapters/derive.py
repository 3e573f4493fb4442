"""Versions from unique written values, after the run.

The load processes record, for a service without versions, the tag of every write and the tag
of the value every read returned (values.py). Here the tags become versions the checks judge
unchanged (stale reads, lost writes, monotonic reads):

- per key, the acknowledged writes are numbered 1, 2, ... in the order they were acknowledged;
- a read that returned the value of write W is credited with the highest number among the
  acknowledged writes invoked before W completed: those are the writes W may have followed.
  A write with a higher number was invoked after W had completed, so it certainly followed W,
  and a read that returns W after that write was acknowledged is stale. Writes that overlap in
  time are never held against each other: the derivation errs toward passing a read, never
  toward failing one.
- a value no write of the run produced (the key's value before the run, or a value for another
  key) is version 0: stale once any write of the key has been acknowledged.

The raw files move to history/raw/ and the derived ones take their place, so every reader of
the run directory (checks, reports) sees versions. Deriving again starts from the raw files.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from dataclasses import asdict, dataclass
from pathlib import Path

from cachechaos.adapters.values import FOREIGN, UNKNOWN
from cachechaos.history.format import Op, Record, read_history_file
from cachechaos.history.writer import HistoryWriter

RAW_DIR = "raw"
# FINAL_READ records say in their layer which kind of row the key is (experiment/final_reads.py).
_FINAL_KIND = {1: "cart", 2: "product"}
_WRITES = {int(Op.WRITE): "product", int(Op.DISCOUNT_WRITE): "product", int(Op.CART_WRITE): "cart"}
_READS = {int(Op.READ): "product", int(Op.CART_READ): "cart"}


@dataclass
class Derivation:
    """What the derivation found, for the run's notes."""

    writes: int = 0            # acknowledged writes numbered
    reads: int = 0             # reads (final reads included) mapped to a write of the run
    before_run: int = 0        # reads that returned a value no write of the run produced
    unknown: int = 0           # successful reads whose answer held no value

    def describe(self) -> str:
        return (f"versions derived from unique written values: {self.writes} acknowledged writes numbered, "
                f"{self.reads} reads mapped to the write that produced their value, {self.before_run} saw a value "
                f"from before the run, {self.unknown} held no value")


class _KeyWrites:
    """The writes of one key: tag -> (invoke, complete) and the numbering of the acknowledged ones."""

    def __init__(self) -> None:
        self.spans: dict[int, tuple[float, float]] = {}
        self.acked: list[tuple[float, float, int]] = []  # (complete, invoke, tag)
        self.rank: dict[int, int] = {}
        self._invokes: list[float] = []
        self._top: list[int] = []

    def number(self) -> None:
        self.acked.sort()
        self.rank = {tag: i + 1 for i, (_, _, tag) in enumerate(self.acked)}
        by_invoke = sorted((invoke, self.rank[tag]) for _, invoke, tag in self.acked)
        top = 0
        for invoke, rank in by_invoke:
            top = max(top, rank)
            self._invokes.append(invoke)
            self._top.append(top)

    def version_of(self, tag: int, read_complete: float) -> int | None:
        """The version a read of `tag` is credited with; None when no write of this key could have produced it."""
        span = self.spans.get(tag)
        if span is None or span[0] > read_complete:
            return None
        i = bisect_right(self._invokes, span[1])
        return self._top[i - 1] if i else 0


def _kind(r: Record) -> tuple[str | None, bool]:
    """(kind of row, is a write) of a record whose version is a tag; kind None: not a register op."""
    if r.op in _WRITES:
        return _WRITES[r.op], True
    if r.op in _READS:
        return _READS[r.op], False
    if r.op == Op.FINAL_READ:
        return _FINAL_KIND.get(r.layer), False
    return None, False


def derive(records: list[Record]) -> tuple[list[Record], Derivation]:
    """The records with tags replaced by versions (see the module docstring), and what was found."""
    keys: dict[tuple[str, int], _KeyWrites] = {}
    for r in records:
        kind, write = _kind(r)
        if kind is None or not write or r.version < 0:
            continue
        w = keys.setdefault((kind, r.key), _KeyWrites())
        w.spans[r.version] = (r.invoke, r.complete)
        if 200 <= r.status < 300:
            w.acked.append((r.complete, r.invoke, r.version))
    for w in keys.values():
        w.number()
    stats = Derivation(writes=sum(len(w.acked) for w in keys.values()))
    out: list[Record] = []
    for r in records:
        kind, write = _kind(r)
        if kind is None:
            out.append(r)
            continue
        entry = keys.get((kind, r.key))
        if write:
            version = entry.rank.get(r.version, UNKNOWN) if entry is not None and 200 <= r.status < 300 else UNKNOWN
        elif r.version == UNKNOWN or not 200 <= r.status < 300:
            version = UNKNOWN
            stats.unknown += 200 <= r.status < 300
        else:
            found = entry.version_of(r.version, r.complete) if entry is not None and r.version != FOREIGN else None
            version = FOREIGN if found is None else found
            stats.reads += found is not None
            stats.before_run += found is None
        out.append(r._replace(version=version))
    return out, stats


def derive_run_versions(history_dir: Path) -> Derivation:
    """Move the raw history files of a run to history/raw/ and write the derived ones in their place."""
    raw_dir = history_dir / RAW_DIR
    raw_dir.mkdir(exist_ok=True)
    for path in history_dir.glob("*.hist"):
        if not (raw_dir / path.name).exists():  # a file already there was moved before: this one is derived
            os.replace(path, raw_dir / path.name)
    records = [r for path in sorted(raw_dir.glob("*.hist")) for r in read_history_file(path)]
    derived, stats = derive(records)
    by_process: dict[str, list[Record]] = {path.stem: [] for path in raw_dir.glob("*.hist")}
    for r in derived:
        by_process[r.process].append(r)
    for process, rows in by_process.items():
        tmp = history_dir / f".{process}.hist.tmp"
        tmp.unlink(missing_ok=True)
        writer = HistoryWriter(tmp, flush_every=3600.0)
        for r in rows:
            writer.record(r.invoke, r.complete, r.op, r.key, r.version, r.layer, r.status, r.client, r.intended or r.invoke)
        writer.close()
        os.replace(tmp, history_dir / f"{process}.hist")
    (history_dir / "versions.json").write_text(json.dumps(asdict(stats)))
    return stats
