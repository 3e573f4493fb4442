"""The game day's live figures: what the dashboard, `/metrics` and the halt guards read.

Fed by the runner's SampleTaken events (four a second; the load files and the metrics are
rewritten once a second, so figures move once a second), over a sliding window of WINDOW_S:
rates and ratios are differences of the cumulative counters between the window's ends. Stale
reads are counted as the history grows (checks.stale_stream, as the terminal's live view does).
Read from the server's threads through `snapshot()`, written on the runner's thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from cachechaos.checks.criteria import Criterion
from cachechaos.checks.stale_stream import StaleStream
from cachechaos.experiment.events import SampleTaken
from cachechaos.gameday.spec import HaltGuard
from cachechaos.history.columns import HistoryTail

WINDOW_S = 5.0
HISTORY_POINTS = 600  # ten minutes of one point a second for the page's charts
TIMELINE_MAX = 500
LAYERS = ("l1", "l2")

# Criteria of the game day that a live figure measures too, and which figure (green/red on the page).
LIVE_CHECKS = {"error_rate": "error_rate", "stale_read_rate": "stale_read_rate"}


def _counters(load: dict[str, Any], metrics: dict[str, Any]) -> dict[str, float]:
    """The cumulative counters of one sample, summed over processes and backends."""
    out = {"requests": float(load.get("requests", 0)), "errors": float(load.get("errors", 0)),
           "dropped": float(load.get("dropped", 0))}
    for layer in LAYERS:
        out[f"{layer}_hits"] = out[f"{layer}_requests"] = 0.0
    for backend in (metrics.get("backends") or {}).values():
        samples = backend.get("metrics") or {}
        for layer in LAYERS:
            out[f"{layer}_hits"] += samples.get(f'cache_hits_total{{layer="{layer}"}}', 0.0)
            out[f"{layer}_requests"] += samples.get(f'cache_requests_total{{layer="{layer}"}}', 0.0)
    pg = metrics.get("postgres") or {}
    if pg.get("up"):
        out["db_xacts"] = float(pg.get("xact_commit") or 0) + float(pg.get("xact_rollback") or 0)
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


class LiveFigures:
    def __init__(self, run_dir: Path, guards: list[HaltGuard], criteria: list[Criterion]) -> None:
        self.run_dir = run_dir
        self.guards = guards
        self.criteria = criteria
        self._lock = threading.Lock()
        self._window: deque[tuple[float, dict[str, float]]] = deque()
        self._last_t = 0.0
        self.current: dict[str, Any] = {}
        self.points: deque[dict[str, Any]] = deque(maxlen=HISTORY_POINTS)
        self.timeline: deque[dict[str, Any]] = deque(maxlen=TIMELINE_MAX)
        self.faults: dict[str, dict[str, Any]] = {}
        self.rate_per_s: float | None = None
        self.roles: dict[str, str | None] = {}
        self._breached_since: dict[str, float] = {}
        self._tail: HistoryTail | None = None
        self._stale = StaleStream()
        self._stale_before: tuple[float, int] | None = None

    # -- written by the runner's thread ----------------------------------------------------------

    def on_sample(self, event: SampleTaken) -> None:
        now = time.time()
        if now - self._last_t < 1.0:  # the sources move once a second
            return
        self._last_t = now
        counters = _counters(event.load, event.metrics)
        self._window.append((now, counters))
        while len(self._window) > 2 and now - self._window[1][0] >= WINDOW_S:
            self._window.popleft()
        t0, first = self._window[0]
        span = max(now - t0, 1e-9)

        def delta(key: str) -> float:
            return counters.get(key, 0.0) - first.get(key, 0.0)

        stale_per_s, stale_rate = self._stale_reads(now)
        figures: dict[str, Any] = {
            "t": now, "rps": event.load.get("rps", 0.0), "p50_ms": event.load.get("p50_ms", 0.0),
            "p99_ms": event.load.get("p99_ms", 0.0), "requests": counters["requests"], "errors": counters["errors"],
            "error_rate": _ratio(delta("errors"), delta("requests")) if len(self._window) > 1 else None,
            "dropped_per_s": delta("dropped") / span if len(self._window) > 1 else 0.0,
            "db_qps": delta("db_xacts") / span if "db_xacts" in counters and "db_xacts" in first else None,
            "stale_reads_per_s": stale_per_s, "stale_read_rate": stale_rate,
            **{f"{layer}_hit_rate": _ratio(delta(f"{layer}_hits"), delta(f"{layer}_requests")) for layer in LAYERS},
        }
        roles = {name: (node.get("role") if node.get("up") else "down")
                 for name, node in (event.metrics.get("redis") or {}).items()}
        with self._lock:
            for name, role in roles.items():
                before = self.roles.get(name)
                if before is not None and before != role:
                    self._add("failover", f"{name}: {before} → {role}")
            self.roles = roles
            self.current = figures
            self.points.append({k: figures[k] for k in ("t", "rps", "p50_ms", "p99_ms", "error_rate",
                                                       "l1_hit_rate", "l2_hit_rate", "stale_reads_per_s", "db_qps")})

    def _stale_reads(self, now: float) -> tuple[float | None, float | None]:
        """Stale reads per second since the last look, and the share of stale reads among the newest judged."""
        try:
            if self._tail is None:
                self._tail = HistoryTail(self.run_dir)
            self._stale.add(self._tail.read_new())
        except Exception:  # a history still being created: no figure this second, never a broken game day
            return None, None
        before, self._stale_before = self._stale_before, (now, self._stale.stale)
        per_s = (self._stale.stale - before[1]) / max(now - before[0], 1e-9) if before else None
        recent = self._stale.recent
        return per_s, (recent[0] / recent[1] if recent and recent[1] else None)

    def close(self) -> None:
        if self._tail is not None:
            self._tail.close()

    def _add(self, kind: str, text: str, t: float | None = None) -> None:
        self.timeline.append({"t": time.time() if t is None else t, "kind": kind, "text": text})

    def add(self, kind: str, text: str) -> None:
        with self._lock:
            self._add(kind, text)

    def fault_on(self, fault_id: str, fault_type: str, target: str, until: float | None) -> None:
        with self._lock:
            self.faults[fault_id] = {"id": fault_id, "type": fault_type, "target": target, "since": time.time(),
                                     "until": until}
            self._add("fault", f"inject {fault_id} ({fault_type})" + (f" on {target}" if target else "")
                      + (f" for {until - time.time():.0f} s" if until else ""))

    def fault_off(self, fault_id: str, why: str) -> None:
        with self._lock:
            self.faults.pop(fault_id, None)
            self._add("heal", f"healed {fault_id} ({why})")

    # -- halt guards -----------------------------------------------------------------------------------

    def breached_guards(self) -> list[tuple[HaltGuard, str]]:
        """Guards whose figure has been beyond their bound for their `for_s`, each once per breach."""
        out = []
        now = time.time()
        for guard in self.guards:
            value = self.current.get(guard.metric)
            if value is None or value <= guard.max:
                self._breached_since.pop(guard.label, None)
                continue
            since = self._breached_since.setdefault(guard.label, now)
            if now - since >= guard.for_s:
                out.append((guard, f"{guard.metric} was {value:.4g} (above {guard.max:g}) for {now - since:.0f} s"))
                self._breached_since[guard.label] = float("inf")  # once, until the figure comes back within bound
        return out

    # -- read by the server's threads ------------------------------------------------------------

    def _criteria_state(self) -> list[dict[str, Any]]:
        out = []
        for c in self.criteria:
            figure = LIVE_CHECKS.get(c.check)
            value = self.current.get(figure) if figure else None
            state = "at stop" if figure is None else ("waiting" if value is None else
                                                      "pass" if c.passes(value) else "fail")
            out.append({"name": c.label, "threshold": c.threshold(), "value": value, "state": state})
        for g in self.guards:
            value = self.current.get(g.metric)
            since = self._breached_since.get(g.label)
            state = "waiting" if value is None else "ok" if value <= g.max else "breached"
            out.append({"name": f"halt if {g.label}", "threshold": f"<= {g.max:g}", "value": value, "state": state,
                        "since": since if since not in (None, float("inf")) else None})
        return out

    def snapshot(self, since_points: float = 0.0) -> dict[str, Any]:
        with self._lock:
            return {"figures": dict(self.current), "rate_per_s": self.rate_per_s, "roles": dict(self.roles),
                    "faults": [dict(f, age_s=time.time() - f["since"]) for f in self.faults.values()],
                    "timeline": list(self.timeline), "criteria": self._criteria_state(),
                    "points": [p for p in self.points if p["t"] > since_points]}

    def prometheus(self) -> str:
        """The live figures in Prometheus text format, for a team's own Grafana."""
        with self._lock:
            figures, faults, roles, rate = dict(self.current), len(self.faults), dict(self.roles), self.rate_per_s
        lines: list[str] = []

        def gauge(name: str, help_text: str, value: float | None, labels: str = "") -> None:
            if value is None:
                return
            if not any(line.startswith(f"# TYPE cachechaos_gameday_{name} ") for line in lines):
                lines.append(f"# HELP cachechaos_gameday_{name} {help_text}")
                lines.append(f"# TYPE cachechaos_gameday_{name} gauge")
            lines.append(f"cachechaos_gameday_{name}{labels} {float(value):.6g}")

        gauge("requests_per_second", "requests per second over the load processes", figures.get("rps"))
        gauge("response_time_p50_ms", "median response time from the intended send (ms)", figures.get("p50_ms"))
        gauge("response_time_p99_ms", "99th percentile response time from the intended send (ms)", figures.get("p99_ms"))
        gauge("error_rate", f"errors per request over the last {WINDOW_S:g} s", figures.get("error_rate"))
        for layer in LAYERS:
            gauge("hit_rate", f"cache hits per request of the layer over the last {WINDOW_S:g} s",
                  figures.get(f"{layer}_hit_rate"), f'{{layer="{layer}"}}')
        gauge("stale_reads_per_second", "stale reads (window 0) per second", figures.get("stale_reads_per_s"))
        gauge("db_transactions_per_second", "PostgreSQL transactions per second", figures.get("db_qps"))
        gauge("arrival_rate_per_second", "the open model's arrival rate asked for", rate)
        gauge("active_faults", "faults applied now", faults)
        for name, role in roles.items():
            gauge("redis_primary", "1 when the Redis node is a primary (master)", 1.0 if role == "master" else 0.0,
                  f'{{node="{name}"}}')
        return "\n".join(lines) + "\n"
