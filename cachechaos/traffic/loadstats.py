"""Live load statistics: what each load process writes to load/<process>.json, and their aggregate.

Each process writes every second:

    {"t": unix_s, "process": name, "users": int, "requests": int, "errors": int,
     "rps": float (last ~1 s), "p50_ms": float, "p99_ms": float (last ~5 s),
     "by_route": {"GET /products/[id]": requests, ...},
     "window": {"<ms>": count, ...}  (response times of the last ~5 s, Locust's rounding),
     "arrivals": {"scheduled", "sent", "dropped"} or null (open model only),
     "done": bool}

Percentiles do not add up across processes, so each file carries its window
histogram and the aggregate merges those.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WINDOW_S = 5.0
# A process that has not rewritten its file for this long is not contributing a rate.
STALE_AFTER_S = 3.0


@dataclass
class LoadStats:
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)
    users: int = 0
    processes: int = 0  # processes that reported
    dropped: int = 0  # open-model arrivals dropped at max_in_flight

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "rps": self.rps, "p50_ms": self.p50_ms,
                "p99_ms": self.p99_ms, "by_route": dict(self.by_route), "users": self.users,
                "dropped": self.dropped}


def histogram_delta(now: Mapping[int, int], before: Mapping[int, int]) -> dict[int, int]:
    """Counts added between two snapshots of a cumulative histogram."""
    out: dict[int, int] = {}
    for ms, count in now.items():
        diff = count - before.get(ms, 0)
        if diff > 0:
            out[ms] = diff
    return out


def percentile(hist: Mapping[int, int], q: float) -> float:
    """The q-quantile (0..1) of a {value: count} histogram; 0 when empty."""
    total = sum(hist.values())
    if total <= 0:
        return 0.0
    rank = q * total
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


def merge(hists: Iterable[Mapping[int, int]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for hist in hists:
        for value, count in hist.items():
            out[value] = out.get(value, 0) + count
    return out


def aggregate(docs: Iterable[Mapping[str, Any]], now: float | None = None) -> LoadStats:
    now = time.time() if now is None else now
    stats = LoadStats()
    windows: list[dict[int, int]] = []
    for doc in docs:
        if not doc:
            continue
        stats.processes += 1
        stats.requests += int(doc.get("requests", 0))
        stats.errors += int(doc.get("errors", 0))
        stats.dropped += int((doc.get("arrivals") or {}).get("dropped", 0))
        for route, count in (doc.get("by_route") or {}).items():
            stats.by_route[route] = stats.by_route.get(route, 0) + int(count)
        if doc.get("done") or now - float(doc.get("t", 0)) > STALE_AFTER_S:
            continue
        stats.rps += float(doc.get("rps", 0.0))
        stats.users += int(doc.get("users", 0))
        windows.append({int(ms): int(c) for ms, c in (doc.get("window") or {}).items()})
    window = merge(windows)
    stats.p50_ms = percentile(window, 0.50)
    stats.p99_ms = percentile(window, 0.99)
    return stats
