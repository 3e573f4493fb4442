"""lost_writes: acknowledged writes the source of truth does not hold at the end of the run.

The run ends with FINAL_READ records, one per written key: `layer` 1 = a cart (key = user id),
2 = a product (key = product id); `version` = the version stored (status 404: nothing stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
MAX_EXAMPLES = 20


@dataclass
class _Judged:
    """The acknowledged writes of one kind of row against their final reads."""

    acknowledged: int = 0
    unjudged: int = 0
    duplicates: int = 0
    behind: int = 0
    keys_without_final_read: int = 0
    lost: list[tuple[Record, str, int | None]] = field(default_factory=list)


def _judge(run: RunData, op: str) -> _Judged:
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

    acked = [r for r in run.records(ops=WRITE_OPS[op]) if 200 <= r.status < 300]
    acked.sort(key=lambda r: (r.complete, r.invoke))
    # Last acknowledgement of each (key, version): earlier holders of that version were overwritten.
    last_holder: dict[tuple[int, int], Record] = {}
    for r in acked:
        if r.version >= 0:
            last_holder[(r.key, r.version)] = r
    out = _Judged(len(acked), keys_without_final_read=len({r.key for r in acked if r.key not in final}))
    for r in acked:
        if r.version < 0:
            out.unjudged += 1
            continue
        stored = final.get(r.key)
        if last_holder[(r.key, r.version)] is not r:
            out.duplicates += 1
            out.lost.append((r, "duplicate_version", stored))
        elif stored is None:
            out.unjudged += 1
        elif stored < r.version:
            out.behind += 1
            out.lost.append((r, "missing_at_end", stored))
    return out


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
    lost = [x for j in judged_by.values() for x in j.lost]
    judged = acked - unjudged
    details: dict[str, Any] = {
        "op": op if op is not None else "+".join(judged_by),
        "acknowledged": acked,
        "judged": judged,
        "unjudged": unjudged,
        "lost_ratio": len(lost) / judged if judged else None,
        "duplicate_versions": sum(j.duplicates for j in judged_by.values()),
        "missing_at_end": sum(j.behind for j in judged_by.values()),
        "keys_without_final_read": sum(j.keys_without_final_read for j in judged_by.values()),
        "examples": [
            {"key": r.key, "version": r.version, "acked_at": r.complete, "reason": reason,
             "final_version": stored, "process": r.process, "client": r.client}
            for r, reason, stored in lost[:MAX_EXAMPLES]
        ],
    }
    if acked and not judged:
        # Acknowledged writes and not one final read to compare them with: no evidence, not zero losses.
        details["reason"] = "no final read judged any acknowledged write (see the run's notes on final reads)"
        return Measurement("lost_writes", None, unit, details)
    if unit == "ratio":
        return Measurement("lost_writes", details["lost_ratio"], "ratio", details)
    return Measurement("lost_writes", float(len(lost)), "count", details)
