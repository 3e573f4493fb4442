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
BLOCK = 1 << 22  # judged reads per part: a part adds about 150 bytes a read to the peak (measured at 20 M)
TIME_SPAN_LIMIT = 1 << 62  # sequences x time keys must fit in an int64
VERSION_SPAN_LIMIT = 1 << 62  # sequences x versions too


@declares(unit="count")
def monotonic_reads(run: RunData) -> Measurement:
    """Count (process, client, key) read sequences in which a read saw an older version than a read
    of the same sequence that had completed before it was invoked (overlapping reads may disagree)."""
    c = run.columns
    judged = c.of_ops(READ_KINDS) & c.ok & (c.version >= 0)
    # A sequence lies within one key, so keys split the work into parts of about BLOCK reads:
    # the sorts' temporaries stay bounded on a run of tens of millions.
    parts = max(1, -(-int(np.count_nonzero(judged)) // BLOCK))
    part_of = None
    if parts > 1:  # each record's part, 2 bytes a record rather than a key-sized remainder per part
        part_of = np.empty(len(c), dtype=np.uint16)
        np.remainder(c.key, parts, out=part_of, casting="unsafe")
    sequences = violating = violations = 0
    found: list[tuple[int, int, dict[str, Any]]] = []
    for part in range(parts):
        where = np.flatnonzero(judged if part_of is None else judged & (part_of == part))
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
    seq, first, order = _sequences(reads)
    n_seq = len(first)
    # Everything below works in `order` (by sequence, then invoke), where a sequence's invoke keys
    # ascend: the binary searches then go through the completions in order instead of jumping
    # about an array of the run's size (the slow part before), and its completions are nearly in
    # order already, so the stable sort by completion has little to do.
    completed, invoked, span_t = _time_keys(reads.complete, reads.invoke, n_seq)
    seq_o = seq[order]
    codes = seq_o * span_t + completed[order]
    by_complete = np.argsort(codes, kind="stable")  # stable: equal completions keep invoke order
    codes = codes[by_complete]
    by_complete = order[by_complete]
    seq_sorted = seq[by_complete]

    # Per sequence, by completion: the running highest version and the read that first reached it.
    # Integer codes lift each sequence above the one before (see staleness.py).
    lifted, span_v, versions = _version_codes(reads.version, by_complete, seq_sorted, n_seq)
    running = np.maximum.accumulate(lifted) if n else lifted
    del lifted
    position = np.arange(n)
    reached = np.ones(n, dtype=bool)
    reached[1:] = running[1:] > running[:-1]
    holder = np.maximum.accumulate(np.where(reached, position, 0)) if n else position
    del reached, position

    # For each read, the last read of its sequence completed strictly before its invoke.
    before = np.searchsorted(codes, seq_o * span_t + invoked[order], side="left") - 1
    del codes
    seen = before >= 0
    seen[seen] = seq_sorted[before[seen]] == seq_o[seen]
    newest = np.full(n, -1, dtype=np.int64)
    newest[seen] = running[before[seen]] - seq_o[seen] * span_v
    if versions is not None:
        newest[seen] = versions[newest[seen]]
    bad = np.flatnonzero(seen & (reads.version[order] < newest))
    at, before = order[bad], before[bad]
    by_first = np.lexsort((at, first[seq[at]]))
    at, before = at[by_first], before[by_first]
    examples: list[dict[str, Any]] = []
    for i, b in zip(at[:MAX_EXAMPLES].tolist(), before[:MAX_EXAMPLES].tolist(), strict=True):
        r, s = reads.record(i), reads.record(int(by_complete[holder[b]]))
        examples.append({"process": r.process, "client": r.client, "kind": READ_KINDS[r.op], "key": r.key,
                         "seen_version": s.version, "seen_at": s.complete,
                         "later_version": r.version, "later_at": r.invoke})
    return n_seq, len(np.unique(seq[at])), first[seq[at]], at, examples


def _version_codes(version: Ints, by_complete: Ints, seq_sorted: Ints, sequences: int) -> tuple[Ints, int, Ints | None]:
    """Each read's version (by completion) lifted above the sequences before it, how far apart
    sequences are lifted, and the versions the codes rank (None: the codes hold the versions
    themselves). Versions small enough are used as they are; otherwise (a client's own numbering,
    say) their ranks, at the cost of a sort."""
    top = int(version.max()) + 1 if len(version) else 1
    if sequences * top < VERSION_SPAN_LIMIT:
        return seq_sorted * top + version[by_complete], top, None
    versions, rank = np.unique(version, return_inverse=True)
    return seq_sorted * (len(versions) + 1) + rank[by_complete], len(versions) + 1, versions


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


def _sequences(reads: Columns) -> tuple[Ints, Ints, Ints]:
    """Each read's sequence number, each sequence's first read (position in invoke order), and the
    reads by sequence, each sequence's in invoke order."""
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
    return seq, order[starts], order


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
