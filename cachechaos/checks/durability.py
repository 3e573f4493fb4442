"""lost_writes: acknowledged writes the source of truth does not hold at the end of the run.

The run ends with FINAL_READ records, one per written key: `layer` 1 = a cart (key = user id),
2 = a product (key = product id); `version` = the version stored (status 404: nothing stored).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.history.format import PRODUCT_WRITES, Op, Record

Kind = Literal["cart", "product"]
WRITE_OPS: dict[str, frozenset[int]] = {
    "cart": frozenset({Op.CART_WRITE}),
    # A discount commits product versions just as a PUT does.
    "product": frozenset(int(op) for op in PRODUCT_WRITES),
}
FINAL_READ_LAYER = {"cart": 1, "product": 2}
UNJUDGEABLE = np.iinfo(np.int64).min  # the key's final read failed or there was none
MAX_EXAMPLES = 20


@declares(unit="count")
def lost_writes(run: RunData, op: Kind = "cart", unit: Literal["count", "ratio"] = "count") -> Measurement:
    """An acknowledged write is lost when the final version is below its version, or when a later
    acknowledged write of the same key got the same version (two primaries handed it out: split brain).

    Value: the number of lost writes, or with unit="ratio" their share of the judged acknowledged writes."""
    if op not in WRITE_OPS:
        raise ValueError(f"op must be 'cart' or 'product', got {op!r}")
    final: dict[int, int | None] = {}
    for r in run.records(ops=[Op.FINAL_READ]):
        if r.layer != FINAL_READ_LAYER[op]:
            continue
        if 200 <= r.status < 300 and r.version >= 0:
            final[r.key] = r.version
        elif r.status == 404:
            final[r.key] = -1  # the key is gone: every acknowledged write of it is lost
        else:
            final.setdefault(r.key, None)  # the final read failed: cannot judge

    writes = run.selected(ops=WRITE_OPS[op])
    writes = writes.take(writes.ok)
    # Acknowledgement order; lexsort is stable, so equal (complete, invoke) keep invoke order.
    acked = writes.take(np.lexsort((writes.invoke, writes.complete)))
    n = len(acked)
    known = acked.version >= 0
    # The last acknowledgement of each (key, version) holds it: earlier holders of that version were overwritten.
    by_pair = np.lexsort((acked.version, acked.key))  # stable: a pair's holders in acknowledgement order
    pair_key, pair_version = acked.key[by_pair], acked.version[by_pair]
    last_of_pair = np.ones(n, dtype=bool)
    last_of_pair[:-1] = (pair_key[1:] != pair_key[:-1]) | (pair_version[1:] != pair_version[:-1])
    holder = np.zeros(n, dtype=bool)
    holder[by_pair[last_of_pair]] = True

    final_keys = np.array(sorted(final), dtype=np.int64)
    final_versions = np.array([UNJUDGEABLE if final[k] is None else final[k] for k in final_keys.tolist()],
                              dtype=np.int64)
    at = np.minimum(np.searchsorted(final_keys, acked.key), max(len(final_keys) - 1, 0))
    has_final = final_keys[at] == acked.key if len(final_keys) else np.zeros(n, dtype=bool)
    stored = np.where(has_final, final_versions[at] if len(final_keys) else UNJUDGEABLE, UNJUDGEABLE)
    duplicate = known & ~holder
    judgeable = known & holder & (stored != UNJUDGEABLE)
    behind = judgeable & (stored < acked.version)
    lost_at = np.flatnonzero(duplicate | behind)
    unjudged = n - int(np.count_nonzero(duplicate | judgeable))
    judged = n - unjudged
    details: dict[str, Any] = {
        "op": op,
        "acknowledged": n,
        "judged": judged,
        "unjudged": unjudged,
        "lost_ratio": len(lost_at) / judged if judged else None,
        "duplicate_versions": int(np.count_nonzero(duplicate)),
        "missing_at_end": int(np.count_nonzero(behind)),
        "keys_without_final_read": len(np.unique(acked.key[~has_final])),
        "examples": [_example(acked.record(int(i)), "duplicate_version" if duplicate[i] else "missing_at_end",
                              final.get(int(acked.key[i]))) for i in lost_at[:MAX_EXAMPLES]],
    }
    if n and not judged:
        # Acknowledged writes and not one final read to compare them with: no evidence, not zero losses.
        details["reason"] = "no final read judged any acknowledged write (see the run's notes on final reads)"
        return Measurement("lost_writes", None, unit, details)
    if unit == "ratio":
        return Measurement("lost_writes", details["lost_ratio"], "ratio", details)
    return Measurement("lost_writes", float(len(lost_at)), "count", details)


def _example(r: Record, reason: str, stored: int | None) -> dict[str, Any]:
    return {"key": r.key, "version": r.version, "acked_at": r.complete, "reason": reason,
            "final_version": stored, "process": r.process, "client": r.client}
