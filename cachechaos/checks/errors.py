"""error_rate: the share of requests that got a server error or no response at all."""

from __future__ import annotations

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import REQUEST_OPS, is_error
from cachechaos.history.format import Op


def _op_name(op: int) -> str:
    try:
        return Op(op).name.lower()
    except ValueError:
        return str(op)


@declares(unit="ratio")
def error_rate(run: RunData, phase: str | None = None) -> Measurement:
    """Errors are status >= 500 or 0 (timeout, refused); 4xx (404, 409 out of stock) are answers."""
    requests = run.records(phase, ops=REQUEST_OPS)
    by_status: dict[str, int] = {}
    by_op: dict[str, dict[str, int]] = {}
    errors = 0
    for r in requests:
        by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
        entry = by_op.setdefault(_op_name(r.op), {"requests": 0, "errors": 0})
        entry["requests"] += 1
        if is_error(r.status):
            errors += 1
            entry["errors"] += 1
    details = {"phase": phase, "requests": len(requests), "errors": errors,
               "by_status": dict(sorted(by_status.items())), "by_op": by_op}
    return Measurement("error_rate", errors / len(requests) if requests else None, "ratio", details)
