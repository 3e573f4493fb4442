"""key_redis_rate: how often one key's reads reached Redis (served from L2 or missed), per second.

The client-observed history says which layer served every read, so the load a hot
key puts on Redis is measured exactly, without per-key server statistics.
"""

from __future__ import annotations

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.history.format import Layer, Op


@declares(unit="req/s")
def key_redis_rate(run: RunData, key: int = 1, phase: str | None = None) -> Measurement:
    c = run.selected(phase)
    layers = c.layer[(c.op == int(Op.READ)) & (c.key == key) & c.ok]
    window = run.window(phase) if phase else None
    start = window.start if window else run.start
    end = window.end if window else run.end
    seconds = max(1e-9, (end or 0.0) - (start or 0.0))
    by_layer = {layer.name.lower(): int(np.count_nonzero(layers == layer)) for layer in Layer}
    to_redis = by_layer["l2"] + by_layer["miss"]
    details = {"key": key, "phase": phase, "reads": len(layers), "seconds": seconds, "by_layer": by_layer,
               "reads_per_s": len(layers) / seconds}
    if not len(layers):
        details["reason"] = f"no successful read of key {key}"
        return Measurement("key_redis_rate", None, "req/s", details)
    return Measurement("key_redis_rate", to_redis / seconds, "req/s", details)
