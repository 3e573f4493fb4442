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
RADIX_SPAN = 1 << 16  # groups spanning at most this many values are sorted by radix (as uint16)


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
        # Equal values are interchangeable (a percentile is a value; a sum over a group ignores the
        # order in it), so the values take the fastest sort, not a stable one, and the groups then a
        # stable sort that is a radix sort when they span 16 bits or less (seconds of a block, say):
        # a third of the time of np.lexsort((values, group)).
        by_value = np.argsort(values)
        group_by_value = group[by_value]
        low = int(group_by_value.min()) if len(group) else 0
        if len(group) and int(group_by_value.max()) - low < RADIX_SPAN:
            group_by_value = (group_by_value - low).astype(np.uint16)
        self.order = by_value[np.argsort(group_by_value, kind="stable")]
        del by_value, group_by_value
        ordered = group[self.order]
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        self.first = np.flatnonzero(starts)
        self.groups = ordered[self.first]
        self.counts = np.diff(np.append(self.first, len(ordered)))
        self.values = values[self.order]

    def percentile(self, p: float) -> Floats:
        """The nearest-rank `p` percentile of each group, groups ascending."""
        return self.values[self.first + np.maximum(1, np.ceil(p / 100.0 * self.counts)).astype(np.int64) - 1]

    def sums(self, values: Ints | Floats | np.ndarray) -> np.ndarray:
        """Per group, the sum of `values` (given in the original order, e.g. a mask)."""
        return np.add.reduceat(values[self.order], self.first) if len(self.first) else self.first
