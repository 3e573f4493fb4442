"""The staleness judgement of docs/definitions.md, over the history's columns.

A successful READ of key k invoked at t that returned version v is stale at
window w iff a successful product write of k (format.PRODUCT_WRITES) with a
version greater than v was acknowledged (completed) before t - w.

Only the earliest such acknowledgement matters: call it T(k, v). Per key the
acknowledged writes are sorted by completion with a running maximum of the
version; T(k, v) is the completion time at the first position where that
maximum exceeds v. A read is then stale at w iff T < t - w, so one lookup per
read answers every window.

The lookup is one `searchsorted` for all reads at once: the writes, sorted by
(key, completion), get the code key_rank * span + rank of their running
maximum, which ascends through the whole array; a read of (k, v) gets the code
key_rank * span + rank of v, and the first write code above it is T(k, v) when
it still belongs to key k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple

import numpy as np

from cachechaos.history.columns import Columns, Floats, Index, Ints, Mask
from cachechaos.history.format import PRODUCT_WRITES, Op, Record

WRITE_OPS = tuple(sorted(int(op) for op in PRODUCT_WRITES))
_READ = int(Op.READ)
BLOCK = 1 << 22  # records judged at a time


class StaleRead(NamedTuple):
    read: Record
    newer_acked_at: float   # earliest acknowledgement of a write of the key with a version above the one read
    newer_version: int      # the version that write committed

    @property
    def age(self) -> float:
        return self.read.invoke - self.newer_acked_at

    def stale_at(self, window_s: float) -> bool:
        # Written exactly as the definition (ack < t - w) so float rounding agrees with it.
        return self.newer_acked_at < self.read.invoke - window_s


def judged_reads(c: Columns) -> Mask:
    """Reads staleness says something about: successful product READs that reported their version."""
    return (c.op == _READ) & c.ok & (c.version >= 0)


@dataclass(frozen=True)
class _RankTable:
    """np.searchsorted over ascending distinct integers as one array lookup: product ids and versions
    span small ranges, and a lookup costs a tenth of a binary search over millions of reads."""

    low: int           # the value the table's first entry stands for (and everything below it)
    table: Index       # searchsorted(values, low + i, side) for i in 0 .. span + 1

    DENSE_LIMIT: ClassVar[int] = 1 << 22

    @classmethod
    def of(cls, values: Ints, side: Literal["left", "right"]) -> _RankTable | None:
        if not len(values) or int(values[-1]) - int(values[0]) >= cls.DENSE_LIMIT:
            return None
        low = int(values[0]) - 1
        return cls(low, np.searchsorted(values, np.arange(low, int(values[-1]) + 2), side=side))

    def rank(self, v: Ints) -> Index:
        # Clipping maps everything below the range to the first entry (rank 0) and above it to the last.
        return self.table.take(v - self.low, mode="clip")


@dataclass(frozen=True)
class WriteIndex:
    """Acknowledged product writes, sorted by (key, completion, version), with per-key running maxima."""

    keys: Ints           # the distinct written keys, ascending
    codes: Ints          # key rank * span + 1 + rank of the running maximum version: ascending
    acks: Floats         # completion time of each write
    running: Ints        # the running maximum version of its key up to and including it
    versions: Ints       # the distinct acknowledged versions, ascending (what the ranks index)
    key_table: _RankTable | None = None
    version_table: _RankTable | None = None

    @classmethod
    def of(cls, c: Columns) -> WriteIndex:
        # A failed write (5xx, no response) was never acknowledged: it cannot make a read stale.
        acked = c.of_ops(WRITE_OPS) & c.ok & (c.version >= 0)
        key, ack, version = c.key[acked], c.complete[acked], c.version[acked]
        order = np.lexsort((version, ack, key))
        key, ack, version = key[order], ack[order], version[order]
        keys, segment = np.unique(key, return_inverse=True)
        versions, rank = np.unique(version, return_inverse=True)
        span = len(versions) + 1
        # A running maximum per key in one accumulate: segments are lifted apart by `span`.
        lifted = segment.astype(np.int64) * span + rank
        codes = np.maximum.accumulate(lifted) + 1 if len(lifted) else lifted
        running = versions[codes - 1 - segment.astype(np.int64) * span] if len(codes) else version
        return cls(keys, codes, ack, running, versions, _RankTable.of(keys, "left"), _RankTable.of(versions, "right"))

    def key_rank(self, key: Ints) -> Index:
        return self.key_table.rank(key) if self.key_table is not None else np.searchsorted(self.keys, key)

    def version_rank(self, version: Ints) -> Index:
        if self.version_table is not None:
            return self.version_table.rank(version)
        return np.searchsorted(self.versions, version, side="right")

    def first_newer(self, key: Ints, version: Ints) -> tuple[Index, Mask]:
        """Per (key, version): the position of the earliest-acknowledged write of that key with a higher
        version, and whether there is one."""
        if not len(self.codes):
            return np.zeros(len(key), dtype=np.intp), np.zeros(len(key), dtype=bool)
        span = len(self.versions) + 1
        segment = self.key_rank(key)
        written = segment < len(self.keys)
        written[written] = self.keys[segment[written]] == key[written]
        # Rank of v among the versions: a write's running rank r exceeds it iff its version exceeds v.
        below = self.version_rank(version)
        at = np.searchsorted(self.codes, segment.astype(np.int64) * span + below, side="right")
        found = written & (at < len(self.codes))
        found[found] = (self.codes[at[found]] - 1) // span == segment[found]
        return at, found


@dataclass(frozen=True)
class Staleness:
    """The reads stale at window 0 (a superset of those stale at any window >= 0), in invoke order."""

    reads: Index             # positions in the columns
    newer_acked_at: Floats
    newer_version: Ints

    @classmethod
    def of(cls, c: Columns) -> Staleness:
        index = WriteIndex.of(c)
        parts: list[tuple[Index, Floats, Ints]] = []
        # In blocks, so that the lookup's temporaries stay a few hundred MB whatever the run's length.
        for lo in range(0, len(c), BLOCK):
            reads = lo + np.flatnonzero(judged_reads(c.take(slice(lo, lo + BLOCK))))
            at, found = index.first_newer(c.key[reads], c.version[reads])
            reads, at = reads[found], at[found]
            acked = index.acks[at]
            stale = acked < c.invoke[reads]
            parts.append((reads[stale], acked[stale], index.running[at[stale]]))
        if not parts:
            return cls(np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0, dtype=np.int64))
        return cls(*(np.concatenate(column) for column in zip(*parts, strict=True)))

    def __len__(self) -> int:
        return len(self.reads)

    def within(self, c: Columns, start: float, end: float) -> Staleness:
        """The stale reads invoked in [start, end)."""
        invoke = c.invoke[self.reads]
        inside = (invoke >= start) & (invoke < end)
        return Staleness(self.reads[inside], self.newer_acked_at[inside], self.newer_version[inside])

    def ages(self, c: Columns) -> Floats:
        return c.invoke[self.reads] - self.newer_acked_at

    def stale_at(self, c: Columns, window_s: float, margin: Floats | None = None) -> Mask:
        """`margin` (per stale read): the clock uncertainty a read must be stale beyond (load workers on
        other machines, checks/stale_reads.py)."""
        # Written exactly as the definition (ack < t - w) so float rounding agrees with it.
        if margin is None:
            return self.newer_acked_at < c.invoke[self.reads] - window_s
        return self.newer_acked_at < c.invoke[self.reads] - window_s - margin

    def stale_invokes(self, c: Columns) -> Floats:
        return c.invoke[self.reads]

    def stale_reads(self, c: Columns) -> list[StaleRead]:
        return [StaleRead(c.record(int(i)), float(t), int(v))
                for i, t, v in zip(self.reads, self.newer_acked_at, self.newer_version, strict=True)]
