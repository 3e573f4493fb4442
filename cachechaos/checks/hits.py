"""hit_rate: the share of lookups a cache layer answered, from the history or from the sampled counters."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import backend_reader, counter_deltas, redis_reader
from cachechaos.checks.stats import byte_counts, ratio
from cachechaos.checks.windows import Window
from cachechaos.history.columns import Ints
from cachechaos.history.format import Layer, Op
from cachechaos.metric_names import hits_name, lookups_name

_READ = int(Op.READ)
LayerName = Literal["l1", "l2", "any"]
Source = Literal["history", "metrics"]


def _history_rates(layers: NDArray[np.uint8]) -> dict[str, Any]:
    """From X-Cache of successful READs (their layers): l1 = L1/all, l2 = L2/(L2+miss) (of the lookups that
    reached Redis, what its keyspace counters measure), any = (L1+L2)/all. Reads without X-Cache are left out."""
    counts = byte_counts(layers)
    without, l1, l2, miss = (int(n) for n in counts[:len(Layer)])
    total = l1 + l2 + miss
    return {"l1": ratio(l1, total), "l2": ratio(l2, l2 + miss), "any": ratio(l1 + l2, total),
            "reads": total, "counts": {"l1": l1, "l2": l2, "miss": miss},
            "without_layer": without}


def _ok_reads(run: RunData, window: str | None) -> tuple[Ints, NDArray[np.uint8]]:
    """Keys and layers of the successful READs invoked in `window` (None: the whole run)."""
    c = run.selected(window)
    ok = (c.op == _READ) & c.ok
    return c.key[ok], c.layer[ok]


def _backend_counts(run: RunData, window: Window | None, layer: str) -> tuple[float, float]:
    """Hits and lookups of one layer, summed over the backends' cache_{hits,requests}_total."""
    backend = [d for d in counter_deltas(run.samples, backend_reader(hits_name(layer), lookups_name(layer)))
               if window is None or window.closes(d.t)]
    return sum(d.raw[0] for d in backend), sum(d.raw[1] for d in backend)


def _metric_rates(run: RunData, window: Window | None) -> dict[str, Any]:
    """l2 from Redis keyspace_hits/misses of every node, else (no Redis sampled) from the backends' own
    L2 counters; l1 from the backends' cache_{hits,requests}_total (a service's own names map onto
    these: cachechaos.metric_names)."""
    redis = [d for d in counter_deltas(run.samples, redis_reader("keyspace_hits", "keyspace_misses"))
             if window is None or window.closes(d.t)]
    hits = sum(d.raw[0] for d in redis)
    lookups = hits + sum(d.raw[1] for d in redis)
    if not redis:
        hits, lookups = _backend_counts(run, window, "l2")
    l1_hits, l1_lookups = _backend_counts(run, window, "l1")
    return {"l2": ratio(hits, lookups), "l1": ratio(l1_hits, l1_lookups), "any": None,
            "counts": {"l2_hits": hits, "l2_lookups": lookups, "l1_hits": l1_hits, "l1_lookups": l1_lookups}}


def hot_set(keys: Ints, size: int) -> Ints:
    """The `size` most-read keys (of a read's keys): the hot set an eviction policy must not throw out.
    Ties go to the key read first, as Counter.most_common orders them."""
    distinct, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return np.sort(distinct[np.lexsort((first, -counts))[:size]])


@declares(unit="ratio")
def hit_rate(run: RunData, layer: LayerName = "any", phase: str | None = None,
             source: Source = "history", hot_keys: int | None = None) -> Measurement:
    """`hot_keys: N` counts only reads of the N most-read keys of the whole run (history source)."""
    if layer not in ("l1", "l2", "any"):
        raise ValueError(f"layer must be l1, l2 or any, got {layer!r}")
    if source not in ("history", "metrics"):
        raise ValueError(f"source must be history or metrics, got {source!r}")
    if source == "metrics" and layer == "any":
        raise ValueError("source 'metrics' measures l1 (backend counters) or l2 (Redis keyspace); use source 'history' for 'any'")
    if hot_keys is not None and (source != "history" or hot_keys < 1):
        raise ValueError("hot_keys needs source 'history' and a positive number of keys")
    hot = hot_set(_ok_reads(run, None)[0], hot_keys) if hot_keys else None

    def rates(window: str | None) -> dict[str, Any]:
        if source == "history":
            keys, layers = _ok_reads(run, window)
            return _history_rates(layers if hot is None else layers[np.isin(keys, hot)])
        return _metric_rates(run, run.window(window) if window is not None else None)

    overall = rates(phase)
    by_phase = {}
    for w in run.phases:
        r = rates(w.name)
        by_phase[w.name] = {k: r[k] for k in ("l1", "l2", "any")}
    details = {"layer": layer, "phase": phase, "source": source, "by_layer": {k: overall[k] for k in ("l1", "l2", "any")},
               "counts": overall["counts"], "by_phase": by_phase}
    if "reads" in overall:
        details.update(reads=overall["reads"], without_layer=overall["without_layer"])
    if hot is not None:
        details["hot_keys"] = hot.tolist()
    return Measurement("hit_rate", overall[layer], "ratio", details)
