"""monotonic_reads: a client that saw version v must not later see an older one (per key)."""

from __future__ import annotations

from typing import Any

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.history.format import Op, Record

MAX_EXAMPLES = 20
# Carts and products share integer keys; a client's cart 7 and product 7 are different sequences.
READ_KINDS = {int(Op.READ): "product", int(Op.CART_READ): "cart"}


@declares(unit="count")
def monotonic_reads(run: RunData) -> Measurement:
    """Count (process, client, key) read sequences in which a read saw an older version than a read
    of the same sequence that had completed before it was invoked (overlapping reads may disagree)."""
    sequences: dict[tuple[str, int, str, int], list[Record]] = {}
    for r in run.records(ops=READ_KINDS):
        if 200 <= r.status < 300 and r.version >= 0:
            sequences.setdefault((r.process, r.client, READ_KINDS[r.op], r.key), []).append(r)

    violating = 0
    violations = 0
    examples: list[dict[str, Any]] = []
    for (process, client, kind, key), reads in sequences.items():
        if len(reads) < 2:
            continue
        by_complete = sorted(reads, key=lambda r: r.complete)
        j = 0
        newest: Record | None = None  # highest version among reads completed before the current invoke
        bad = False
        for r in reads:  # already in invoke order (history is sorted by invoke)
            while j < len(by_complete) and by_complete[j].complete < r.invoke:
                if newest is None or by_complete[j].version > newest.version:
                    newest = by_complete[j]
                j += 1
            if newest is not None and r.version < newest.version:
                violations += 1
                bad = True
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"process": process, "client": client, "kind": kind, "key": key,
                                     "seen_version": newest.version, "seen_at": newest.complete,
                                     "later_version": r.version, "later_at": r.invoke})
        violating += bad
    details = {"sequences": len(sequences), "violating_sequences": violating,
               "violating_reads": violations, "examples": examples}
    return Measurement("monotonic_reads", float(violating), "count", details)
