"""`scale`: how many times longer the observation runs, and nothing else (docs/scale.md).

A longer run watches the same scenario for longer: phases, the instants faults start
at and the traffic shape's timings stretch. Every time constant stays as written:
the system's (TTLs, refresh windows, timeouts), the faults' (latency, jitter, TTLs
they set) and the criteria's (`window_s`, `hold_s`, bounds in seconds). Those are
requirements and physics; multiplying some of them with the run changed what a
row measured (invalidation-delay's 5 s late events judged at a 4 s window passed).
"""

from __future__ import annotations

import copy
from typing import Any

# Paths into the experiment's JSON form; "*" walks every item of a list or every value of a mapping.
OBSERVATION_FIELDS: tuple[tuple[str, ...], ...] = (
    ("phases", "*", "duration_s"),
    ("phases", "*", "faults", "*", "after_s"),
    ("traffic", "shape", "duration_s"),
    ("traffic", "shape", "at_s"),
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


def lengthen_observation(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """A copy of an experiment's JSON form observed `factor` times as long: each field of
    OBSERVATION_FIELDS multiplied once, every other field as written."""
    out = copy.deepcopy(data)
    for path in OBSERVATION_FIELDS:
        _scale_path(out, path, factor)
    return out
