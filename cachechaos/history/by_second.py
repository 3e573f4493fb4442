"""The history a block of whole seconds at a time, and percentiles of groups by nearest rank.

Per-second figures (requests, errors, latency percentiles per second) need only the records of
their second, and the columns are in invoke order, so a second's records are one contiguous run.
Working through blocks of about BLOCK records that end at the end of a second keeps what such a
figure needs beyond the columns (the second of each record, the values, their sort order) to a
block: a few hundred MB whatever the length of the run, instead of 30 bytes or so a record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from cachechaos.history.columns import Columns, Floats, Ints

BLOCK = 1 << 22  # records a block holds at least (unless it is the last), about 4 M


def second_blocks(c: Columns, seconds: Callable[[Floats], Ints],
                  block: int | None = None) -> Iterator[tuple[int, Columns, Ints]]:
    """(offset, records, their seconds) of consecutive blocks covering the columns, views without a
    copy, none cutting through a second. `seconds` maps invoke times to whole seconds and must not
    decrease as the times grow (floor, or truncation after a shift), so a second is contiguous.
    `block`: records a block holds at least (None: BLOCK)."""
    n, lo, block = len(c), 0, block or BLOCK
    while lo < n:
        hi = min(lo + block, n)
        second = seconds(c.invoke[lo:hi])
        while hi < n:
            # The last second of the block may go on past it: end the block before that second,
            # unless it is the whole block (a second of more than `block` records): then take more.
            cut = int(np.searchsorted(second, second[-1], side="left"))
            if cut:
                hi, second = lo + cut, second[:cut]
                break
            hi = min(lo + 2 * (hi - lo), n)
            second = seconds(c.invoke[lo:hi])
        yield lo, c.take(slice(lo, hi)), second
        lo = hi


class Ranked:
    """Values sorted by group, then by value: each group is a contiguous run, so a percentile of
    every group is one index computation (nearest rank, as checks.stats.percentile)."""

    def __init__(self, group: Ints, values: Floats) -> None:
        self.order = np.lexsort((values, group))
        self.groups, self.first, self.counts = np.unique(group[self.order], return_index=True, return_counts=True)
        self.values = values[self.order]

    def percentile(self, p: float) -> Floats:
        """The nearest-rank `p` percentile of each group, groups ascending."""
        return self.values[self.first + np.maximum(1, np.ceil(p / 100.0 * self.counts)).astype(np.int64) - 1]

    def sums(self, values: Ints | Floats | np.ndarray) -> np.ndarray:
        """Per group, the sum of `values` (given in the original order, e.g. a mask)."""
        return np.add.reduceat(values[self.order], self.first) if len(self.first) else self.first
