"""`scale`: the one factor that moves an experiment between CI and production length.

Only the fields listed here are durations of the scenario, and each is multiplied once.
A name ending in `_s` is not enough: `rate_per_s` is a rate, `zipf_s` a skew, and a
client's `timeout_s` or `request_timeout_s` bounds one request, not the scenario.
"""

from __future__ import annotations

import copy
from typing import Any

from cachechaos.checks.registry import SCALES_WITH_DURATION

# Paths into the experiment's JSON form; "*" walks every item of a list or every value of a mapping.
_BACKEND_DURATIONS: tuple[tuple[str, ...], ...] = (
    ("l1", "ttl_s"),
    ("l2", "ttl_s"),
    ("l2", "cart_ttl_s"),
    ("negative", "ttl_s"),
    ("event", "fallback_ttl_s"),
    ("lease", "stale_ttl_s"),
    ("early_refresh", "window_s"),
    ("bugs", "l1_long_ttl_no_invalidation", "ttl_s"),
)
DURATION_FIELDS: tuple[tuple[str, ...], ...] = (
    ("phases", "*", "duration_s"),
    ("phases", "*", "faults", "*", "after_s"),
    ("traffic", "shape", "duration_s"),
    ("traffic", "shape", "at_s"),
    ("criteria", "*", "params", "window_s"),
    ("criteria", "*", "params", "hold_s"),
    *(("backend", *p) for p in _BACKEND_DURATIONS),
    *(("variants", "*", "backend", *p) for p in _BACKEND_DURATIONS),
    *(("detection", "control", "backend", *p) for p in _BACKEND_DURATIONS),
)



def _scale_path(node: Any, path: tuple[str, ...], factor: float) -> None:
    if not path or not isinstance(node, dict | list):
        return
    head, rest = path[0], path[1:]
    if head == "*":
        children = node if isinstance(node, list) else list(node.values())
        for child in children:
            _scale_path(child, rest, factor)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _scale_path(node[head], rest, factor)
        return
    value = node[head]
    if isinstance(value, int | float) and not isinstance(value, bool):
        node[head] = value * factor


def scale_durations(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """A copy of an experiment's JSON form with every duration field multiplied by `factor` once,
    and the bounds of criteria measured in seconds with them."""
    out = copy.deepcopy(data)
    for path in DURATION_FIELDS:
        _scale_path(out, path, factor)
    for criterion in out.get("criteria") or []:
        if criterion.get("check") in SCALES_WITH_DURATION:
            for bound in ("max", "min"):
                if criterion.get(bound) is not None:
                    criterion[bound] *= factor
    return out
