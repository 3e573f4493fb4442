"""error_rate: the share of requests that got a server error or no response at all."""

from __future__ import annotations

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import REQUEST_OPS
from cachechaos.history.format import Op


def _op_name(op: int) -> str:
    try:
        return Op(op).name.lower()
    except ValueError:
        return str(op)


@declares(unit="ratio")
def error_rate(run: RunData, phase: str | None = None) -> Measurement:
    """Errors are status >= 500 or 0 (timeout, refused); 4xx (404, 409 out of stock) are answers."""
    c = run.selected(phase)
    sent = c.of_ops(REQUEST_OPS)
    status, op = c.status[sent], c.op[sent]
    failed = (status == 0) | (status >= 500)
    codes, counts = np.unique(status, return_counts=True)
    by_status = dict(sorted((str(code), n) for code, n in zip(codes.tolist(), counts.tolist(), strict=True)))
    # Ops in the order they first appear (as a loop over the requests would have met them).
    ops, first = np.unique(op, return_index=True)
    by_op = {_op_name(o): {"requests": int(np.count_nonzero(op == o)), "errors": int(np.count_nonzero(failed[op == o]))}
             for o in ops[np.argsort(first)].tolist()}
    requests, errors = len(status), int(np.count_nonzero(failed))
    details = {"phase": phase, "requests": requests, "errors": errors, "by_status": by_status, "by_op": by_op}
    return Measurement("error_rate", errors / requests if requests else None, "ratio", details)
