"""Per-second series derived from a run: from sampled counters (metrics.jsonl) and from the history.

Every series is a list of (t, value) with t in unix seconds:
- metric series are labelled with the time of the sample that closes the interval (value = what
  happened since the previous sample);
- history series are labelled with the start of the second the requests were invoked in.
Seconds without data for a ratio (no lookups, no requests) have no point rather than a made-up value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from cachechaos.history.by_second import Ranked, second_blocks
from cachechaos.history.columns import Columns, Floats, Ints
from cachechaos.history.format import Layer, Op

Series = list[tuple[float, float]]

# Requests a client sent (DISCOUNT_WRITE is derived from a DISCOUNT, FINAL_READ happens after the run).
# DROPPED arrivals were never sent: the load fidelity report counts them, not the error rate.
REQUEST_OPS = frozenset(int(op) for op in Op) - {int(Op.DISCOUNT_WRITE), int(Op.FINAL_READ), int(Op.DROPPED)}
CACHE_LAYERS = {"l1": int(Layer.L1), "l2": int(Layer.L2), "miss": int(Layer.MISS)}

METRIC_SERIES = ("l2_hit_rate", "db_qps", "backend_db_qps", "evicted_keys_per_s", "redis_ops")
HISTORY_SERIES = ("rps", "error_rate", "p50_ms", "p99_ms", "l1_hit_rate", "hit_rate",
                  "layer_share:l1", "layer_share:l2", "layer_share:miss")
STALE_SERIES = ("stale_reads",)
SERIES_NAMES = METRIC_SERIES + HISTORY_SERIES + STALE_SERIES


def is_error(status: int) -> bool:
    return status == 0 or status >= 500


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


Reader = Callable[[dict[str, Any]], dict[str, tuple[float, ...]]]


class Delta(NamedTuple):
    t: float                    # time of the sample closing the interval
    raw: tuple[float, ...]      # increments summed over sources
    rate: tuple[float, ...]     # per-second increments summed over sources (each over its own interval)


def counter_deltas(samples: Iterable[dict[str, Any]], read: Reader) -> list[Delta]:
    """Increments of cumulative counters between samples, summed over sources (nodes, instances).

    `read` maps a sample to {source: counters} for the sources that answered. A counter that went
    down was reset (a restarted node), so its increment is its new value, never negative. A source
    that did not answer keeps its last values; its next increment is spread over the whole gap.
    """
    last: dict[str, tuple[float, tuple[float, ...]]] = {}
    out: list[Delta] = []
    for sample in samples:
        t = _number(sample.get("t"))
        if t is None:
            continue
        raw: list[float] | None = None
        rate: list[float] = []
        for source, values in read(sample).items():
            before = last.get(source)
            last[source] = (t, values)
            if before is None or len(before[1]) != len(values) or t <= before[0]:
                continue
            dt = t - before[0]
            deltas = [cur - old if cur >= old else cur for cur, old in zip(values, before[1], strict=True)]
            if raw is None:
                raw, rate = deltas, [d / dt for d in deltas]
            else:
                raw = [a + b for a, b in zip(raw, deltas, strict=True)]
                rate = [a + b / dt for a, b in zip(rate, deltas, strict=True)]
        if raw is not None:
            out.append(Delta(t, tuple(raw), tuple(rate)))
    return out


def _fields(section: dict[str, Any] | None, names: tuple[str, ...]) -> tuple[float, ...] | None:
    if not isinstance(section, dict) or section.get("up") is False:
        return None
    values = tuple(_number(section.get(n)) for n in names)
    return None if any(v is None for v in values) else values  # type: ignore[return-value]


def redis_reader(*names: str) -> Reader:
    def read(sample: dict[str, Any]) -> dict[str, tuple[float, ...]]:
        out: dict[str, tuple[float, ...]] = {}
        nodes = sample.get("redis")
        for node, section in (nodes.items() if isinstance(nodes, dict) else ()):
            values = _fields(section, names)
            if values is not None:
                out[str(node)] = values
        return out
    return read


def postgres_reader(*names: str) -> Reader:
    def read(sample: dict[str, Any]) -> dict[str, tuple[float, ...]]:
        values = _fields(sample.get("postgres"), names)
        return {"postgres": values} if values is not None else {}
    return read


def backend_reader(*names: str) -> Reader:
    """Prometheus samples of every backend instance, e.g. 'cache_hits_total{layer="l1"}'."""
    def read(sample: dict[str, Any]) -> dict[str, tuple[float, ...]]:
        out: dict[str, tuple[float, ...]] = {}
        backends = sample.get("backends")
        for instance, section in (backends.items() if isinstance(backends, dict) else ()):
            if isinstance(section, dict) and section.get("up") is not False:
                values = _fields({"up": True, **(section.get("metrics") or {})}, names)
                if values is not None:
                    out[str(instance)] = values
        return out
    return read


def backend_prefix_reader(prefix: str) -> Reader:
    """The sum of every sample of a labelled backend counter (all label sets), per instance."""
    def read(sample: dict[str, Any]) -> dict[str, tuple[float, ...]]:
        out: dict[str, tuple[float, ...]] = {}
        backends = sample.get("backends")
        for instance, section in (backends.items() if isinstance(backends, dict) else ()):
            if isinstance(section, dict) and section.get("up") is not False:
                metrics = section.get("metrics") or {}
                out[str(instance)] = (sum(v for k, v in metrics.items() if k.split("{")[0] == prefix),)
        return out
    return read


def _summed(deltas: list[Delta]) -> Series:
    return [(d.t, d.rate[0]) for d in deltas]


def metric_series(samples: list[dict[str, Any]], name: str) -> Series:
    if name == "l2_hit_rate":
        deltas = counter_deltas(samples, redis_reader("keyspace_hits", "keyspace_misses"))
        return [(d.t, d.raw[0] / (d.raw[0] + d.raw[1])) for d in deltas if d.raw[0] + d.raw[1] > 0]
    if name == "db_qps":
        deltas = counter_deltas(samples, postgres_reader("xact_commit", "xact_rollback"))
        return [(d.t, d.rate[0] + d.rate[1]) for d in deltas]
    if name == "evicted_keys_per_s":
        return _summed(counter_deltas(samples, redis_reader("evicted_keys")))
    if name == "backend_db_qps":
        return _summed(counter_deltas(samples, backend_prefix_reader("db_queries_total")))
    if name == "redis_ops":
        return _summed(counter_deltas(samples, redis_reader("total_commands_processed")))
    raise ValueError(f"unknown metric series {name!r}; known: {', '.join(METRIC_SERIES)}")


def history_series(history: Columns, start: float | None, end: float | None) -> dict[str, Series]:
    """Every history series at once. rps is 0 in seconds of the run without requests (an outage shows)."""
    # A block of whole seconds at a time: what the figures need beyond the columns stays a block's.
    parts = []
    for _, block, second in second_blocks(history, _floor):
        sent = block.of_ops(REQUEST_OPS)
        parts.append(_second_figures(block.take(sent), second[sent]))
    figures = [np.concatenate(f) for f in zip(*parts, strict=True)] if parts else [np.empty(0, dtype=np.int64)] * 9
    seconds, requests, errors, p50, p99, *layer_counts = figures
    at = {int(t): i for i, t in enumerate(seconds.tolist())}

    out: dict[str, Series] = {name: [] for name in HISTORY_SERIES}
    every = set(at)
    if start is not None and end is not None and end >= start:
        every.update(range(math.floor(start), math.floor(end) + 1))
    for s in sorted(every):
        t = float(s)
        i = at.get(s)
        if i is None:
            out["rps"].append((t, 0.0))
            continue
        n = int(requests[i])
        out["rps"].append((t, float(n)))
        out["error_rate"].append((t, int(errors[i]) / n))
        out["p50_ms"].append((t, float(p50[i])))
        out["p99_ms"].append((t, float(p99[i])))
        l1, l2, miss, lost = (int(counts[i]) for counts in layer_counts)
        looked_up = l1 + l2 + miss + lost
        if looked_up:
            out["l1_hit_rate"].append((t, l1 / looked_up))
            out["hit_rate"].append((t, (l1 + l2) / looked_up))
            answered = looked_up - lost
            for layer, k in (("l1", l1), ("l2", l2), ("miss", miss)):
                if answered:
                    out[f"layer_share:{layer}"].append((t, k / answered))
    return out


def _floor(invoke: Floats) -> Ints:
    return np.floor(invoke).astype(np.int64)


def _second_figures(c: Columns, second: Ints) -> list[np.ndarray]:
    """Of requests of whole seconds: the seconds, then per second requests, errors, p50 and p99
    latency, and L1, L2, miss and failed-read counts."""
    latency = c.response_ms()
    failed = (c.status == 0) | (c.status >= 500)
    reads = c.op == int(Op.READ)
    served = reads & c.ok & (c.layer >= Layer.L1) & (c.layer <= Layer.MISS)
    # A read that failed was not served by any cache: hit rates count it (an outage is at 0, not a
    # gap), the layer shares of served reads do not.
    failed_reads = reads & ~served & failed
    # Requests of a second are contiguous after a sort by (second, latency): percentiles by rank.
    ranked = Ranked(second, latency)
    return [ranked.groups, ranked.counts, ranked.sums(failed), ranked.percentile(50), ranked.percentile(99),
            *(ranked.sums(served & (c.layer == layer)) for layer in (Layer.L1, Layer.L2, Layer.MISS)),
            ranked.sums(failed_reads)]


def stale_series(stale_invokes: Floats, start: float | None, end: float | None) -> Series:
    """Stale reads (window 0) per second of invocation (their invoke times); 0 in seconds without any."""
    seconds, n = np.unique(np.floor(stale_invokes).astype(np.int64), return_counts=True)
    counts = dict(zip(seconds.tolist(), n.tolist(), strict=True))
    every = set(counts)
    if start is not None and end is not None and end >= start:
        every.update(range(math.floor(start), math.floor(end) + 1))
    return [(float(s), float(counts.get(s, 0))) for s in sorted(every)]
