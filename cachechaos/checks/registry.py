"""Checks by name, and validation of the parameters a criterion passes to one."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError

from cachechaos.checks.amplification import db_amplification
from cachechaos.checks.durability import lost_writes
from cachechaos.checks.errors import error_rate
from cachechaos.checks.failover import failover_time
from cachechaos.checks.hits import hit_rate
from cachechaos.checks.key_load import key_redis_rate
from cachechaos.checks.latency_slo import latency
from cachechaos.checks.monotonic import monotonic_reads
from cachechaos.checks.recovery import recovery_time
from cachechaos.checks.result import CheckInfo, Measurement, declared
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series_stat import series_stat
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.checks.stock import oversell

CHECKS: dict[str, Callable[..., Measurement]] = {
    "stale_read_rate": stale_read_rate,
    "recovery_time": recovery_time,
    "latency": latency,
    "hit_rate": hit_rate,
    "db_amplification": db_amplification,
    "error_rate": error_rate,
    "oversell": oversell,
    "lost_writes": lost_writes,
    "monotonic_reads": monotonic_reads,
    "failover_time": failover_time,
    "series_stat": series_stat,
    "key_redis_rate": key_redis_rate,
}
# Each check's unit, as declared beside it.
CHECK_INFO: dict[str, CheckInfo] = {name: declared(fn) for name, fn in CHECKS.items()}


def check_parameters(name: str) -> dict[str, inspect.Parameter]:
    """The parameters a check takes after the run."""
    if name not in CHECKS:
        raise ValueError(f"unknown check {name!r}; checks: {', '.join(sorted(CHECKS))}")
    params = list(inspect.signature(CHECKS[name]).parameters.values())[1:]
    return {p.name: p for p in params}


def validate_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` coerced to the check's annotated types; unknown names and bad values raise ValueError."""
    accepted = check_parameters(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"check {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                         f"parameters: {', '.join(accepted) or 'none'}")
    hints = get_type_hints(CHECKS[name])
    out: dict[str, Any] = {}
    for key, value in params.items():
        try:
            out[key] = TypeAdapter(hints.get(key, Any)).validate_python(value)
        except ValidationError as exc:
            raise ValueError(f"check {name!r} parameter {key!r}: {exc.errors()[0]['msg']} (got {value!r})") from None
    return out


def run_check(name: str, run: RunData, **params: Any) -> Measurement:
    """Look a check up by name and run it; unknown names or parameters raise ValueError with the valid ones."""
    return CHECKS[name](run, **validate_params(name, params))
