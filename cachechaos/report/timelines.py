"""The run's timelines for the report: per-second series on one x axis, with faults, phases and failovers.

Every chart shares x = seconds since the start of the run (floored to a whole second, so the history
series, which are labelled with the second requests were invoked in, land on whole numbers). Long
runs are bucketed down to MAX_POINTS so a report stays small and quick to draw whatever the run's
length; the history itself is never embedded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import Series
from cachechaos.history.by_second import Ranked, second_blocks
from cachechaos.history.columns import Floats, Ints
from cachechaos.history.format import Op
from cachechaos.redact import redact_text

MAX_POINTS = 1200
LATENCY_FLOOR_MS = 0.01  # the latency axis is logarithmic: a 0 ms point would have no place on it

ROUTES: dict[int, str] = {
    int(Op.READ): "GET /products/{id}",
    int(Op.ABSENT_READ): "GET /products/{id} (absent)",
    int(Op.WRITE): "PUT /products/{id}",
    int(Op.DISCOUNT): "POST /categories/{id}/discount",
    int(Op.ORDER): "POST /orders",
    int(Op.CART_READ): "GET /carts/{user}",
    int(Op.CART_WRITE): "PUT /carts/{user}",
}
_ROUTE_OPS = np.array(sorted(ROUTES), dtype=np.int64)
_ROUTE_INDEX = np.full(256, -1, dtype=np.int64)  # op byte -> index in _ROUTE_OPS, -1: not a route
_ROUTE_INDEX[_ROUTE_OPS] = np.arange(len(_ROUTE_OPS))
# Okabe-Ito: tells lines apart for colour-blind readers too, and prints on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
ROLE_VALUES = {"master": 2.0, "slave": 1.0, "replica": 1.0}
Chart = dict[str, Any]


class Grid:
    """Whole seconds since the run's start, covering everything recorded."""

    def __init__(self, start: float, end: float) -> None:
        self.t0 = float(math.floor(start))
        self.n = max(1, math.floor(end) - int(self.t0) + 1)

    @property
    def x(self) -> list[float]:
        return [float(i) for i in range(self.n)]

    def index(self, t: float) -> int | None:
        i = round(t - self.t0)
        return i if 0 <= i < self.n else None

    def place(self, series: Iterable[tuple[float, float]], scale: float = 1.0) -> list[float | None]:
        """A (t, v) series on the grid; seconds without a point stay empty (no made-up value)."""
        out: list[float | None] = [None] * self.n
        for t, v in series:
            i = self.index(t)
            if i is not None and v is not None and math.isfinite(v):
                out[i] = v * scale
        return out

    def rel(self, t: float) -> float:
        return round(t - self.t0, 3)


def _series(label: str, values: list[float | None], color: str, agg: str = "mean", dash: bool = False,
            width: float = 1.5) -> dict[str, Any]:
    return {"label": label, "values": values, "color": color, "agg": agg, "dash": dash, "width": width}


def _whole_seconds(values: list[float | None], grid: Grid, start: float, end: float) -> list[float | None]:
    """Counts per second only where the run covered the whole second: a last half second is no outage."""
    return [v if start <= grid.t0 + i and grid.t0 + i + 1 <= end + 0.05 else None for i, v in enumerate(values)]


def _has_data(values: list[float | None]) -> bool:
    return any(v is not None for v in values)


def _safe_series(run: RunData, name: str) -> Series:
    """A missing source (no Redis samples, no history) leaves a series empty, never breaks the report."""
    try:
        return run.series(name)
    except (ValueError, KeyError, TypeError):
        return []


# -- the history, once ---------------------------------------------------------------------------

class RouteStats:
    """Per route and second: requests, latency percentiles, errors (no response vs 5xx).

    Over the columns a block of whole seconds at a time (history.by_second): a run of tens of
    millions of requests never becomes a Python object per request, and memory beyond the
    columns stays at a block's."""

    def __init__(self, run: RunData, grid: Grid) -> None:
        t0, n = grid.t0, grid.n
        routes = len(_ROUTE_OPS)
        counts = np.zeros((routes, n))
        no_response, server_errors = np.zeros(n), np.zeros(n)
        p50, p99 = np.full((routes, n), np.nan), np.full((routes, n), np.nan)
        # Routes in the order their first request appears: equal totals are listed that way.
        first_seen = np.full(routes, len(run.columns))

        def seconds(invoke: Floats) -> Ints:
            return (invoke - t0).astype(np.int64)  # truncated toward 0, as int() of a second

        for offset, block, second in second_blocks(run.columns, seconds):
            route = _ROUTE_INDEX[block.op]
            at = np.flatnonzero((route >= 0) & (second >= 0) & (second < n))
            route, second, status = route[at], second[at], block.status[at]
            counts += np.bincount(route * n + second, minlength=routes * n).reshape(routes, n)
            no_response += np.bincount(second[status == 0], minlength=n)
            server_errors += np.bincount(second[status >= 500], minlength=n)
            present, first = np.unique(route, return_index=True)
            first_seen[present] = np.minimum(first_seen[present], offset + at[first])
            ranked = Ranked(route * n + second, block.response_ms(at))
            p50.flat[ranked.groups] = np.maximum(LATENCY_FLOOR_MS, ranked.percentile(50))
            p99.flat[ranked.groups] = np.maximum(LATENCY_FLOOR_MS, ranked.percentile(99))
        seen = [int(k) for k in np.argsort(first_seen, kind="stable") if first_seen[k] < len(run.columns)]
        totals = counts.sum(axis=1)
        self.ops = [int(_ROUTE_OPS[k]) for k in sorted(seen, key=lambda k: -totals[k])]
        index = {int(op): k for k, op in enumerate(_ROUTE_OPS)}
        self.counts: dict[int, list[float | None]] = {op: _points(counts[index[op]]) for op in self.ops}
        self.no_response = _points(no_response)
        self.server_errors = _points(server_errors)
        self.p50 = {op: _points(p50[index[op]]) for op in self.ops}
        self.p99 = {op: _points(p99[index[op]]) for op in self.ops}


def _points(values: Floats) -> list[float | None]:
    """Per second, NaN (a second without requests) as None: an empty point on the chart."""
    return [None if math.isnan(v) else v for v in values.tolist()]


def last_request(run: RunData) -> float:
    """When the last request of a route was sent, within the run (the run's end if none was)."""
    c = run.columns
    routed = c.of_ops(ROUTES)[:int(np.searchsorted(c.invoke, run.end, side="right"))]
    return float(c.invoke[len(routed) - 1 - int(np.argmax(routed[::-1]))]) if routed.any() else run.end


# -- Redis roles -----------------------------------------------------------------------------------

def redis_roles(run: RunData, grid: Grid) -> tuple[dict[str, list[float | None]], list[dict[str, Any]]]:
    """Role of every Redis node per second (2 primary, 1 replica, 0 down), and failover markers.

    A failover is a node becoming primary after another one was; two primaries at once are marked
    as such (the split brain of the lecture's incident 2).
    """
    roles: dict[str, list[float | None]] = {}
    markers: list[dict[str, Any]] = []
    previous: set[str] | None = None
    for sample in run.samples:
        nodes = sample.get("redis")
        if not isinstance(nodes, dict) or not nodes:
            continue
        i = grid.index(float(sample["t"]))
        primaries: set[str] = set()
        for node, section in nodes.items():
            if not isinstance(section, dict):
                continue
            if section.get("up") is False:
                value: float | None = 0.0
            else:
                value = ROLE_VALUES.get(str(section.get("role")))
            if value == 2.0:
                primaries.add(str(node))
            if i is not None:
                roles.setdefault(str(node), [None] * grid.n)[i] = value
        if previous is not None and primaries - previous:
            promoted = ", ".join(sorted(primaries - previous))
            label = f"two primaries: {', '.join(sorted(primaries))}" if len(primaries) > 1 else f"failover → {promoted}"
            markers.append({"t": grid.rel(float(sample["t"])), "label": label,
                            "kind": "split" if len(primaries) > 1 else "failover"})
        if primaries:
            previous = primaries
    # Nodes drawn a little apart so that two nodes in the same role do not hide each other.
    for k, node in enumerate(sorted(roles)):
        roles[node] = [None if v is None else v + 0.08 * k for v in roles[node]]
    return dict(sorted(roles.items())), markers


# -- annotations ------------------------------------------------------------------------------------

def fault_annotations(run: RunData, grid: Grid, markers: list[dict[str, Any]]) -> dict[str, Any]:
    faults = []
    for f in run.faults:
        label = f.name if f.name == f.type or not f.type else f"{f.name} ({f.type})"
        if f.target:
            label += f" → {f.target}"
        faults.append({"label": label, "start": grid.rel(f.start), "end": grid.rel(f.end),
                       "one_shot": f.end - f.start < 0.5, "ok": f.ok, "closed": f.closed})
    phases = [{"name": p.name, "start": grid.rel(p.start), "end": grid.rel(p.end)} for p in run.phases]
    return {"faults": faults, "phases": phases, "markers": markers}


# A game day's notes, rate changes and halts (journal notes of these sources), marked on every chart.
OPERATOR_SOURCES = {"operator": "note", "traffic": "rate", "halt": "halt"}


def operator_markers(run: RunData, grid: Grid) -> list[dict[str, Any]]:
    out = []
    for e in run.journal:
        kind = OPERATOR_SOURCES.get(str(e.get("source"))) if e.get("event") == "note" else None
        if kind is not None:
            text = redact_text(str(e.get("text") or ""))
            out.append({"t": grid.rel(float(e["t"])), "label": text if len(text) <= 40 else text[:39] + "…",
                        "kind": kind})
    return out


# -- downsampling ------------------------------------------------------------------------------------

_AGG: dict[str, Callable[[list[float]], float]] = {
    "mean": lambda vs: sum(vs) / len(vs),
    "max": max,
    "last": lambda vs: vs[-1],
}


def downsample(chart: Chart, max_points: int = MAX_POINTS) -> Chart:
    """Buckets of whole seconds; each series says how its bucket is summed up (peaks stay peaks)."""
    x = chart["x"]
    if len(x) <= max_points:
        return chart
    size = math.ceil(len(x) / max_points)
    chart["x"] = x[::size]
    for s in chart["series"]:
        agg = _AGG[s.get("agg", "mean")]
        values = s["values"]
        out: list[float | None] = []
        for lo in range(0, len(values), size):
            bucket = [v for v in values[lo:lo + size] if v is not None]
            out.append(agg(bucket) if bucket else None)
        s["values"] = out
    chart["bucket_s"] = size
    return chart


def _round(chart: Chart, digits: int = 4) -> Chart:
    """Four significant decimals are plenty on a chart and keep the embedded JSON small."""
    for s in chart["series"]:
        s["values"] = [None if v is None else round(v, digits) for v in s["values"]]
    return chart


# -- the charts ------------------------------------------------------------------------------------------

def build_timelines(run: RunData) -> tuple[list[Chart], dict[str, Any]]:
    """The timeline charts (only those with data) and the fault/phase/failover annotations they share."""
    grid = Grid(run.start, run.end)
    routes = RouteStats(run, grid)
    roles, markers = redis_roles(run, grid)
    markers += operator_markers(run, grid)
    charts: list[Chart] = []

    def chart(chart_id: str, title: str, unit: str, series: list[dict[str, Any]], note: str = "",
              **y: Any) -> None:
        series = [s for s in series if _has_data(s["values"])]
        if series:
            charts.append({"id": chart_id, "kind": "timeline", "title": title, "unit": unit, "note": note,
                           "x": grid.x, "series": series, "y": y})

    # A killed run's last history lines were still in the load processes' buffers: the seconds after the
    # last recorded request are not "no traffic", they are unknown.
    history_end = min(run.end, last_request(run)) if run.interrupted else run.end

    def whole(values: list[float | None]) -> list[float | None]:
        return _whole_seconds(values, grid, run.start, history_end)

    colors = {op: PALETTE[k % len(PALETTE)] for k, op in enumerate(routes.ops)}
    rps = [_series("all requests", whole(grid.place(_safe_series(run, "rps"))), "#333333", width=2)]
    if len(routes.ops) > 1:
        rps += [_series(ROUTES[op], whole(routes.counts[op]), colors[op]) for op in routes.ops]
    chart("rps", "Requests per second", "req/s", rps, "as the load generators sent them (history)", min=0)
    chart("latency_p99", "Latency p99 by route", "ms",
          [_series(ROUTES[op], routes.p99[op], colors[op], agg="max") for op in routes.ops],
          "client-observed, per second of invocation; logarithmic axis", log=True)
    chart("latency_p50", "Latency p50 by route", "ms",
          [_series(ROUTES[op], routes.p50[op], colors[op]) for op in routes.ops],
          "client-observed, per second of invocation; logarithmic axis", log=True)
    chart("hit_rate", "Cache hit rate by layer", "%", [
        _series("L1 (share of reads served in-process)", grid.place(_safe_series(run, "l1_hit_rate")), PALETTE[0]),
        _series("L2 (Redis keyspace hits)", grid.place(_safe_series(run, "l2_hit_rate")), PALETTE[1]),
        _series("L1 + L2 (reads not served by the DB)", grid.place(_safe_series(run, "hit_rate")), "#333333",
                dash=True),
    ], "L1 and overall from the X-Cache of every read; L2 from Redis INFO", percent=True, min=0, max=1)
    chart("db_qps", "DB queries per second at PostgreSQL", "q/s",
          [_series("transactions/s (pg_stat_database)", grid.place(_safe_series(run, "db_qps")), PALETTE[2])],
          "committed + rolled-back transactions, sampled every second", min=0)
    chart("stale_reads", "Stale reads per second", "reads/s",
          [_series("stale at window 0", whole(grid.place(_safe_series(run, "stale_reads"))), PALETTE[1], agg="max")],
          "reads that returned a version older than an acknowledged write", min=0)
    errors = [_series("no response (timeout, connection)", whole(routes.no_response), PALETTE[1], agg="max"),
              _series("HTTP 5xx", whole(routes.server_errors), PALETTE[3], agg="max")]
    chart("errors", "Errors per second", "errors/s",
          [s for s in errors if any(v for v in s["values"])] or errors[:1], "as clients saw them", min=0)
    chart("redis_roles", "Redis roles", "role",
          [_series(node, values, PALETTE[k % len(PALETTE)], agg="last", width=2)
           for k, (node, values) in enumerate(roles.items())],
          "from INFO every second; failovers marked", roles=True)
    return [_round(downsample(c)) for c in charts], fault_annotations(run, grid, markers)
