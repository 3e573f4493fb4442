"""failover_time: from a fault to the first successful write by a client once writes fail.

Writes that go to Redis (carts with `cart_store: redis`) fail while no primary is
reachable; the first success after the first failure marks the end of the client's
outage. When no write failed, clients saw no failover window: the value is 0.
"""

from __future__ import annotations

from typing import Literal

from cachechaos.checks.result import Measurement
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import rounded
from cachechaos.history.format import Op

_WRITE_OPS = {"cart": (int(Op.CART_WRITE),), "product": (int(Op.WRITE),)}


def failover_time(run: RunData, fault: str | None = None, op: Literal["cart", "product"] = "cart") -> Measurement:
    windows = [f for f in run.faults if f.ok] if fault is None else [run.fault(fault)]
    if not windows:
        return Measurement("failover_time", None, "s", {"reason": "no fault was injected"})
    start = windows[0].start
    writes = [r for r in run.records(ops=_WRITE_OPS[op]) if r.invoke >= start]
    first_failure = next((r for r in writes if not r.ok), None)
    details: dict[str, object] = {"fault": windows[0].name, "fault_at": start, "op": op, "writes_after_fault": len(writes)}
    if first_failure is None:
        details["reason"] = "no write failed after the fault"
        return Measurement("failover_time", 0.0, "s", details)
    recovered = next((r for r in writes if r.ok and r.invoke > first_failure.invoke), None)
    failed = sum(1 for r in writes if not r.ok)
    details.update(first_failure_at=first_failure.invoke, failed_writes=failed)
    if recovered is None:
        details["reason"] = "writes never succeeded again within the run"
        return Measurement("failover_time", None, "s", details)
    details["write_outage_s"] = rounded(recovered.complete - first_failure.invoke, 3)
    return Measurement("failover_time", recovered.complete - start, "s", details)
