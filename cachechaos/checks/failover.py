"""failover_time: from a fault to the end of the clients' write outage it caused.

Writes that go to Redis (carts with `cart_store: redis`) fail while no primary is
reachable. The outage ends at the first successful write after which no write fails
for `hold_s`: one lucky write while others keep failing does not end it. When no
write failed the fault had no visible effect: that is reported as "no effect" (no
value, so the criterion fails), not as a failover of 0 s; unless `unaffected_passes`, for a
service whose writes do not go through Redis (carts in its database): there, writes that never
failed are an outage of 0 s. `cachechaos gate` sets it on a service it attaches to, whose
carts it cannot know to be in Redis; the row's other criteria show whether the fault took.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import rounded
from cachechaos.history.columns import Floats, Mask
from cachechaos.history.format import Op

_WRITE_OPS = {"cart": (int(Op.CART_WRITE),), "product": (int(Op.WRITE),)}


def sustained_success(invoke: Floats, ok: Mask, after: float, hold_s: float, end: float) -> int | None:
    """Of writes in invoke order, the first successful one invoked after `after` that no failed write
    follows within `hold_s` (and the run lasted `hold_s` beyond it, so the calm was observed)."""
    failures = invoke[~ok]
    successes = np.flatnonzero(ok & (invoke > after))
    sent = invoke[successes]
    following = np.searchsorted(failures, sent, side="right")  # the first failure invoked after each
    calm_until = np.where(following < len(failures), failures[np.minimum(following, len(failures) - 1)], end) \
        if len(failures) else np.full(len(sent), end)
    calm = np.flatnonzero(calm_until > sent + hold_s)
    return int(successes[calm[0]]) if len(calm) else None


@declares(unit="s")
def failover_time(run: RunData, fault: str | None = None, op: Literal["cart", "product"] = "cart",
                  hold_s: float = 2.0, unaffected_passes: bool = False) -> Measurement:
    windows = [f for f in run.faults if f.ok] if fault is None else [run.fault(fault)]
    if not windows:
        return Measurement("failover_time", None, "s", {"reason": "no fault was injected"})
    start = windows[0].start
    writes = run.selected(ops=_WRITE_OPS[op])
    writes = writes.take(slice(int(np.searchsorted(writes.invoke, start, side="left")), None))
    ok = writes.ok
    failures = np.flatnonzero(~ok)
    details: dict[str, object] = {"fault": windows[0].name, "fault_at": start, "op": op, "hold_s": hold_s,
                                  "writes_after_fault": len(writes)}
    if not len(failures):
        details["effect"] = False
        if unaffected_passes and len(writes):
            details["write_outage_s"] = 0.0
            details["note"] = f"no {op} write failed after the fault: the service's writes did not stop"
            return Measurement("failover_time", 0.0, "s", details)
        details["reason"] = "no effect: no write failed after the fault, so there was no failover to time"
        return Measurement("failover_time", None, "s", details)
    first_failure_at = float(writes.invoke[failures[0]])
    recovered = sustained_success(writes.invoke, ok, first_failure_at, hold_s, run.end)
    details.update(first_failure_at=first_failure_at, failed_writes=len(failures), effect=True)
    if recovered is None:
        details["reason"] = f"writes never succeeded for {hold_s:g} s without a failure within the run"
        return Measurement("failover_time", None, "s", details)
    recovered_at = float(writes.complete[recovered])
    details["write_outage_s"] = rounded(recovered_at - first_failure_at, 3)
    return Measurement("failover_time", recovered_at - start, "s", details)
