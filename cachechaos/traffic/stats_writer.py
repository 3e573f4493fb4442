"""Writes a load process's live statistics to load/<process>.json once a second (format: loadstats.py)."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment

from cachechaos.store.files import write_json
from cachechaos.traffic.loadstats import WINDOW_S, histogram_delta, percentile


class StatsWriter:
    def __init__(self, env: Environment, path: Path | None, process: str, interval_s: float = 1.0,
                 extra: Callable[[], dict[str, int] | None] | None = None) -> None:
        self.env = env
        self.extra = extra
        self.path = path
        self.process = process
        self.interval_s = interval_s
        # (t, requests, cumulative response-time histogram) of the last WINDOW_S seconds
        self._snapshots: deque[tuple[float, int, dict[int, int]]] = deque()
        self._greenlet: gevent.Greenlet | None = None
        if path is not None:  # None: snapshots are shipped, not written (a load worker)
            path.parent.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._loop)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
        self.write(done=True)

    def _loop(self) -> None:
        while True:
            self.write()
            gevent.sleep(self.interval_s)

    def snapshot(self, done: bool = False) -> dict[str, Any]:
        now = time.time()
        stats = self.env.stats
        total = stats.total
        requests = total.num_requests
        hist = dict(total.response_times)
        snaps = self._snapshots
        snaps.append((now, requests, hist))
        while len(snaps) > 1 and now - snaps[1][0] >= WINDOW_S:
            snaps.popleft()
        oldest = snaps[0]
        window = histogram_delta(hist, oldest[2]) if len(snaps) > 1 else {}
        prev = snaps[-2] if len(snaps) > 1 else None
        rps = (requests - prev[1]) / (now - prev[0]) if prev and now > prev[0] else 0.0
        runner = self.env.runner
        return {
            "t": now,
            "process": self.process,
            "pid": os.getpid(),
            "users": runner.user_count if runner is not None else 0,
            "requests": requests,
            "errors": total.num_failures,
            "rps": round(rps, 2),
            "p50_ms": percentile(window, 0.50),
            "p99_ms": percentile(window, 0.99),
            "by_route": {f"{method} {name}": e.num_requests for (name, method), e in stats.entries.items()},
            "window": {str(ms): n for ms, n in window.items()},
            "arrivals": self.extra() if self.extra is not None else None,
            "done": done,
        }

    def write(self, done: bool = False) -> None:
        doc = self.snapshot(done)
        if self.path is not None:
            write_json(self.path, doc, indent=None)
