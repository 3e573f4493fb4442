"""lost_writes: acknowledged writes the source of truth does not hold at the end of the run.

The run ends with FINAL_READ records, one per written key: `layer` 1 = a cart (key = user id),
2 = a product (key = product id); `version` = the version stored (status 404: nothing stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class _Judged:
    """The acknowledged writes of one kind of row against their final reads."""

    acknowledged: int = 0
    unjudged: int = 0
    duplicates: int = 0
    behind: int = 0
    keys_without_final_read: int = 0
    lost: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


def _final_versions(run: RunData, op: str) -> dict[int, int | None]:
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
    return final


def _judge(run: RunData, op: str) -> _Judged:
    final = _final_versions(run, op)
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
    return _Judged(
        acknowledged=n,
        unjudged=n - int(np.count_nonzero(duplicate | judgeable)),
        duplicates=int(np.count_nonzero(duplicate)),
        behind=int(np.count_nonzero(behind)),
        keys_without_final_read=len(np.unique(acked.key[~has_final])),
        lost=len(lost_at),
        examples=[_example(acked.record(int(i)), "duplicate_version" if duplicate[i] else "missing_at_end",
                           final.get(int(acked.key[i]))) for i in lost_at[:MAX_EXAMPLES]],
    )


@declares(unit="count")
def lost_writes(run: RunData, op: Kind | None = None, unit: Literal["count", "ratio"] = "count") -> Measurement:
    """An acknowledged write is lost when the final version is below its version, or when a later
    acknowledged write of the same key got the same version (two primaries handed it out: split brain).

    `op` names the kind of row judged (cart or product); without it, every kind the run wrote,
    so a service without carts is judged on its products. Value: the number of lost writes, or
    with unit="ratio" their share of the judged acknowledged writes."""
    if op is not None and op not in WRITE_OPS:
        raise ValueError(f"op must be 'cart' or 'product', got {op!r}")
    kinds = [op] if op is not None else list(WRITE_OPS)
    judged_by = {kind: _judge(run, kind) for kind in kinds}
    if op is None:
        judged_by = {k: j for k, j in judged_by.items() if j.acknowledged} or judged_by
    acked = sum(j.acknowledged for j in judged_by.values())
    unjudged = sum(j.unjudged for j in judged_by.values())
    lost = sum(j.lost for j in judged_by.values())
    judged = acked - unjudged
    details: dict[str, Any] = {
        "op": op if op is not None else "+".join(judged_by),
        "acknowledged": acked,
        "judged": judged,
        "unjudged": unjudged,
        "lost_ratio": lost / judged if judged else None,
        "duplicate_versions": sum(j.duplicates for j in judged_by.values()),
        "missing_at_end": sum(j.behind for j in judged_by.values()),
        "keys_without_final_read": sum(j.keys_without_final_read for j in judged_by.values()),
        "examples": [e for j in judged_by.values() for e in j.examples][:MAX_EXAMPLES],
    }
    if acked and not judged:
        # Acknowledged writes and not one final read to compare them with: no evidence, not zero losses.
        details["reason"] = "no final read judged any acknowledged write (see the run's notes on final reads)"
        return Measurement("lost_writes", None, unit, details)
    if unit == "ratio":
        return Measurement("lost_writes", details["lost_ratio"], "ratio", details)
    return Measurement("lost_writes", float(lost), "count", details)


def _example(r: Record, reason: str, stored: int | None) -> dict[str, Any]:
    return {"key": r.key, "version": r.version, "acked_at": r.complete, "reason": reason,
            "final_version": stored, "process": r.process, "client": r.client}
