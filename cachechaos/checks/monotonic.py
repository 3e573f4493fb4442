"""monotonic_reads: a client that saw version v must not later see an older one (per key)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.history.columns import Columns, Floats, Ints
from cachechaos.history.format import Op

MAX_EXAMPLES = 20
# Carts and products share integer keys; a client's cart 7 and product 7 are different sequences.
READ_KINDS = {int(Op.READ): "product", int(Op.CART_READ): "cart"}
_CART_READ = int(Op.CART_READ)
BLOCK = 1 << 23  # judged reads per part
TIME_SPAN_LIMIT = 1 << 62  # sequences x time keys must fit in an int64


@declares(unit="count")
def monotonic_reads(run: RunData) -> Measurement:
    """Count (process, client, key) read sequences in which a read saw an older version than a read
    of the same sequence that had completed before it was invoked (overlapping reads may disagree)."""
    c = run.columns
    judged = c.of_ops(READ_KINDS) & c.ok & (c.version >= 0)
    # A sequence lies within one key, so keys split the work into parts of about BLOCK reads:
    # the sorts' temporaries stay bounded on a run of tens of millions.
    parts = max(1, -(-int(np.count_nonzero(judged)) // BLOCK))
    sequences = violating = violations = 0
    found: list[tuple[int, int, dict[str, Any]]] = []
    for part in range(parts):
        where = np.flatnonzero(judged if parts == 1 else judged & (c.key % parts == part))
        n_seq, bad_seqs, first, at, examples = _violations(c.take(where))
        sequences += n_seq
        violating += bad_seqs
        violations += len(at)
        found += [(int(where[f]), int(where[i]), e) for f, i, e in zip(first.tolist(), at.tolist(), examples,
                                                                          strict=False)]
    # Examples in the order a per-sequence loop meets them: sequences by first read, then invoke order.
    examples = [e for _, _, e in sorted(found, key=lambda x: x[:2])[:MAX_EXAMPLES]]
    details = {"sequences": sequences, "violating_sequences": violating,
               "violating_reads": violations, "examples": examples}
    return Measurement("monotonic_reads", float(violating), "count", details)


def _violations(reads: Columns) -> tuple[int, int, Ints, Ints, list[dict[str, Any]]]:
    """Sequences, violating sequences, the violating reads (sorted by their sequence's first read, then
    their own position) with their sequence's first read, and the examples of the first of them."""
    n = len(reads)
    position = np.arange(n)
    seq, first = _sequences(reads)
    n_seq = len(first)

    # Per sequence, by completion (ties in invoke order): the running highest version and the read
    # that first reached it. Integer codes lift each sequence above the one before (see staleness.py).
    completed, invoked, span_t = _time_keys(reads.complete, reads.invoke, n_seq)
    codes = seq * span_t + completed
    by_complete = np.argsort(codes, kind="stable")  # stable: equal completions keep invoke order
    codes = codes[by_complete]
    seq_sorted = seq[by_complete]
    versions, version_rank = np.unique(reads.version, return_inverse=True)
    span_v = len(versions) + 1
    lifted = seq_sorted * span_v + version_rank[by_complete]
    running = np.maximum.accumulate(lifted) if n else lifted
    reached = np.ones(n, dtype=bool)
    reached[1:] = lifted[1:] > running[:-1]
    holder = np.maximum.accumulate(np.where(reached, position, 0)) if n else position

    # For each read, the last read of its sequence completed strictly before its invoke.
    before = np.searchsorted(codes, seq * span_t + invoked, side="left") - 1
    seen = before >= 0
    seen[seen] = seq_sorted[before[seen]] == seq[seen]
    newest = np.full(n, -1, dtype=np.int64)
    newest[seen] = versions[running[before[seen]] - seq[seen] * span_v]
    at = np.flatnonzero(seen & (reads.version < newest))
    at = at[np.argsort(first[seq[at]], kind="stable")]
    examples: list[dict[str, Any]] = []
    for i in at[:MAX_EXAMPLES].tolist():
        r, s = reads.record(i), reads.record(int(by_complete[holder[before[i]]]))
        examples.append({"process": r.process, "client": r.client, "kind": READ_KINDS[r.op], "key": r.key,
                         "seen_version": s.version, "seen_at": s.complete,
                         "later_version": r.version, "later_at": r.invoke})
    return n_seq, len(np.unique(seq[at])), first[seq[at]], at, examples


def _time_keys(complete: Floats, invoke: Floats, sequences: int) -> tuple[Ints, Ints, int]:
    """Integers that order like the completion and invoke times (complete < invoke exactly when their
    keys are), and how many values they span. Positive floats order like their bit patterns, so the
    keys are those, less the smallest; otherwise (a time <= 0, not finite, or a span too wide to
    lift `sequences` apart in 62 bits) the ranks of the times among the completions, at the cost
    of a sort and two binary searches of the run's size."""
    if len(complete) and min(complete.min(), invoke.min()) > 0 and np.isfinite(complete).all() \
            and np.isfinite(invoke).all():
        completed, invoked = complete.view(np.int64), invoke.view(np.int64)
        low = min(int(completed.min()), int(invoked.min()))
        span = max(int(completed.max()), int(invoked.max())) - low + 1
        if sequences * span < TIME_SPAN_LIMIT:
            return completed - low, invoked - low, span
    completions = np.unique(complete)
    return np.searchsorted(completions, complete), np.searchsorted(completions, invoke), len(completions) + 1


def _sequences(reads: Columns) -> tuple[Ints, Ints]:
    """Each read's sequence number, and each sequence's first read (position in invoke order)."""
    n = len(reads)
    kind = (reads.op == _CART_READ).astype(np.int64)
    packed = _packed(reads.process.astype(np.int64), reads.client.astype(np.int64), kind, reads.key)
    if packed is not None:
        order = np.argsort(packed, kind="stable")  # stable: a sequence's reads stay in invoke order
        starts = np.zeros(n, dtype=bool)
        starts[:1] = True
        ordered = packed[order]
        starts[1:] = ordered[1:] != ordered[:-1]
    else:
        order = np.lexsort((reads.key, kind, reads.client, reads.process))
        starts = np.zeros(n, dtype=bool)
        starts[:1] = True
        for column in (reads.process, reads.client, kind, reads.key):
            changed = column[order]
            starts[1:] |= changed[1:] != changed[:-1]
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.cumsum(starts) - 1
    return seq, order[starts]


def _packed(*columns: Ints) -> Ints | None:
    """The columns packed into one int64 that orders like them (one sort instead of one per column),
    or None when their ranges do not fit in 62 bits."""
    if not len(columns[0]):
        return None
    packed = np.zeros(len(columns[0]), dtype=np.int64)
    room = 1
    for column in columns:
        low, high = int(column.min()), int(column.max())
        span = high - low + 1
        room *= span
        if room >= 1 << 62:
            return None
        packed *= span
        packed += column - low
    return packed
