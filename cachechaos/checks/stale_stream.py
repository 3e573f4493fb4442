"""Stale reads counted as the history grows, for the live view and the game-day dashboard.

`StaleStream.add` takes the records appended since the last call (history.columns.HistoryTail) and
judges every read the same way as staleness.py (stale at window 0: a newer write of its key was
acknowledged before it was sent), with memory bounded by the newest `retain_s` seconds:

- A read is judged once the watermark (the newest completion seen, minus `settle_s`) has passed its
  invoke: a write acknowledged before the read was sent is recorded before it, but a load process
  flushes its file once a second, so a write may reach the file after a read of another process.
- Writes acknowledged within the newest `retain_s` seconds are kept as records; older ones are folded
  into the highest version acknowledged per key, which is all a later read needs of them (their
  acknowledgement is before its invoke). A read that took longer than `retain_s` to complete is
  judged against that maximum: requests time out long before (request_timeout_s is at most 60 s).

Totals are since the start; `recent` covers reads invoked in the newest `window_s` seconds judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cachechaos.checks.staleness import WRITE_OPS, WriteIndex, judged_reads
from cachechaos.history.columns import Columns

SETTLE_S = 3.0     # a process's flush interval (1 s) and the poll, with room to spare
RETAIN_S = 60.0    # the longest request (request_timeout_s <= 60)


@dataclass
class StaleStream:
    window_s: float = 10.0
    settle_s: float = SETTLE_S
    retain_s: float = RETAIN_S
    stale: int = 0                 # judged reads found stale, since the start
    reads: int = 0                 # judged reads, since the start
    _pending: list[Columns] = field(default_factory=list)   # reads not yet judged
    _writes: Columns | None = None                          # acknowledged writes of the newest retain_s
    _folded: dict[int, int] = field(default_factory=dict)   # key -> highest version acknowledged before them
    _per_second: dict[int, list[int]] = field(default_factory=dict)  # invoke second -> [reads, stale]
    _watermark: float = -math.inf

    def add(self, new: Columns, watermark: float | None = None) -> None:
        """Take appended records; judge the reads the watermark (default: newest completion - settle_s) passed."""
        if len(new):
            acked = new.of_ops(WRITE_OPS) & new.ok & (new.version >= 0)
            self._writes = new.take(acked) if self._writes is None else Columns.concat([self._writes, new.take(acked)])
            self._pending.append(new.take(judged_reads(new)))
            self._watermark = max(self._watermark, float(new.complete.max()) - self.settle_s)
        self._judge(self._watermark if watermark is None else watermark)

    def finish(self) -> None:
        """Judge every read still pending (the run is over: nothing more will arrive)."""
        self._judge(math.inf)

    @property
    def recent(self) -> tuple[int, int]:
        """(stale, judged reads) among reads invoked in the newest `window_s` seconds judged."""
        if not self._per_second:
            return 0, 0
        newest = max(self._per_second)
        inside = [v for s, v in self._per_second.items() if s > newest - self.window_s]
        return sum(v[1] for v in inside), sum(v[0] for v in inside)

    def _judge(self, watermark: float) -> None:
        if not self._pending:
            return
        pending = Columns.concat(self._pending)
        due = pending.invoke < watermark
        reads, self._pending = pending.take(due), [pending.take(~due)]
        writes = self._writes
        if len(reads):
            stale = self._folded_newer(reads)
            if writes is not None and len(writes):
                index = WriteIndex.of(writes)
                at, found = index.first_newer(reads.key, reads.version)
                stale[found] |= index.acks[at[found]] < reads.invoke[found]
            self.reads += len(reads)
            self.stale += int(np.count_nonzero(stale))
            seconds, counts = np.unique(np.floor(reads.invoke).astype(np.int64), return_counts=True)
            stale_seconds, stale_counts = np.unique(np.floor(reads.invoke[stale]).astype(np.int64), return_counts=True)
            for s, n in zip(seconds.tolist(), counts.tolist(), strict=True):
                self._per_second.setdefault(s, [0, 0])[0] += n
            for s, n in zip(stale_seconds.tolist(), stale_counts.tolist(), strict=True):
                self._per_second[s][1] += n
            newest = max(self._per_second)
            for s in [s for s in self._per_second if s <= newest - self.window_s]:
                del self._per_second[s]
        if writes is not None and math.isfinite(watermark):
            old = writes.complete < watermark - self.retain_s
            for key, version in zip(writes.key[old].tolist(), writes.version[old].tolist(), strict=True):
                if version > self._folded.get(key, -1):
                    self._folded[key] = version
            self._writes = writes.take(~old)

    def _folded_newer(self, reads: Columns) -> np.ndarray:
        if not self._folded:
            return np.zeros(len(reads), dtype=bool)
        folded = np.fromiter((self._folded.get(k, -1) for k in reads.key.tolist()), dtype=np.int64, count=len(reads))
        return folded > reads.version

