"""The staleness judgement of docs/definitions.md, in O(n log n).

A successful READ of key k invoked at t that returned version v is stale at
window w iff a successful product write of k (format.PRODUCT_WRITES) with a
version greater than v was acknowledged (completed) before t - w.

Only the earliest such acknowledgement matters: call it T(k, v). Per key the
acknowledged writes are sorted by completion with a running maximum of the
version; T(k, v) is the completion time at the first position where that
maximum exceeds v, found by binary search. A read is then stale at w iff
T < t - w, so one lookup per read answers every window.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple

from cachechaos.history.format import PRODUCT_WRITES, Op, Record

_WRITE_OPS = frozenset(int(op) for op in PRODUCT_WRITES)
_READ = int(Op.READ)


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


def is_judged_read(r: Record) -> bool:
    """A read staleness says something about: a successful product READ that reported its version."""
    return r.op == _READ and 200 <= r.status < 300 and r.version >= 0


class WriteIndex:
    """Acknowledged product writes per key: completion times and the running maximum version."""

    def __init__(self, records: Iterable[Record]) -> None:
        by_key: dict[int, list[tuple[float, int]]] = {}
        for r in records:
            # A failed write (5xx, no response) was never acknowledged: it cannot make a read stale.
            if r.op in _WRITE_OPS and 200 <= r.status < 300 and r.version >= 0:
                by_key.setdefault(r.key, []).append((r.complete, r.version))
        self._index: dict[int, tuple[list[float], list[int]]] = {}
        for key, writes in by_key.items():
            writes.sort()
            acks: list[float] = []
            running: list[int] = []
            top = -1
            for acked, version in writes:
                top = max(top, version)
                acks.append(acked)
                running.append(top)
            self._index[key] = (acks, running)

    def first_newer(self, key: int, version: int) -> tuple[float, int] | None:
        """(ack time, version) of the earliest-acknowledged write of `key` with a version above `version`."""
        entry = self._index.get(key)
        if entry is None:
            return None
        acks, running = entry
        i = bisect_right(running, version)
        if i == len(running):
            return None
        return acks[i], running[i]


def find_stale_reads(records: Iterable[Record], index: WriteIndex) -> list[StaleRead]:
    """Every judged read that is stale at window 0 (a superset of the stale reads at any window >= 0)."""
    out: list[StaleRead] = []
    lookup = index._index.get
    for r in records:
        if r.op != _READ or not 200 <= r.status < 300 or r.version < 0:
            continue
        entry = lookup(r.key)
        if entry is None:
            continue
        acks, running = entry
        i = bisect_right(running, r.version)
        if i < len(running) and acks[i] < r.invoke:
            out.append(StaleRead(r, acks[i], running[i]))
    return out
