"""Once a second: Redis INFO of every node, pg_stat_database, each backend's /metrics, load statistics.

A target the toolkit did not write may answer /metrics with 404, an HTML page, half a
Prometheus text or nothing in time, and may have no PostgreSQL the toolkit can reach. The
sampler survives all of it: what it could not sample is kept in `gaps` (first reason per
source, reported once by the runner) and the run goes on with the sources that answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from cachechaos.metric_names import MetricNames, translate
from cachechaos.prometheus_text import prometheus_samples
from cachechaos.runtime.target import PostgresAdmin, RedisAdmin, Target

REDIS_FIELDS = ("role", "keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys", "used_memory",
                "maxmemory", "connected_clients", "total_commands_processed")
PG_FIELDS = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_updated", "numbackends")
METRICS_TIMEOUT_S = 0.5
MAX_REASON = 160


def _short(exc: BaseException) -> str:
    """An exception's message on one line, cut to a length a summary note can hold."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


class Sampler:
    """Samples in a thread; sources are read around the fault proxies so faults do not blind it."""

    def __init__(self, target: Target, path: Path, load_stats: Callable[[], dict[str, Any]] | None = None,
                 interval: float = 1.0, metric_names: MetricNames | None = None) -> None:
        self.target = target
        self.metric_names = metric_names  # the service's own Prometheus names, mapped onto the toolkit's
        self.path = path
        self.load_stats = load_stats
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._pg: psycopg.Connection | None = None
        self._http = httpx.Client(timeout=METRICS_TIMEOUT_S)
        self._lock = threading.Lock()
        self._gaps: dict[str, str] = {}
        self._reported: set[str] = set()
        self.last: dict[str, Any] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._http.close()
        if self._pg is not None:
            self._pg.close()

    @property
    def gaps(self) -> dict[str, str]:
        """Source -> the first reason it could not be sampled, for the summary."""
        with self._lock:
            return dict(self._gaps)

    def new_gaps(self) -> dict[str, str]:
        """Gaps not returned by an earlier call: each is reported once."""
        with self._lock:
            fresh = {k: v for k, v in self._gaps.items() if k not in self._reported}
            self._reported.update(fresh)
        return fresh

    def _gap(self, source: str, reason: str) -> None:
        with self._lock:
            self._gaps.setdefault(source, reason)

    def _loop(self) -> None:
        with open(self.path, "a", buffering=1) as out:
            next_at = time.monotonic()
            while not self._stop.is_set():
                try:
                    sample = self.sample()
                except Exception as exc:  # a sampler that dies blinds the rest of the run: note it, go on
                    self._gap("sampler", f"a sample failed: {type(exc).__name__}: {_short(exc)}")
                else:
                    self.last = sample
                    out.write(json.dumps(sample) + "\n")
                next_at += self.interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def sample(self) -> dict[str, Any]:
        return {"t": time.time(), "redis": self._redis(), "postgres": self._postgres(),
                "backends": self._backends(), "load": self._load()}

    def _load(self) -> dict[str, Any]:
        if self.load_stats is None:
            return {}
        try:
            return self.load_stats()
        except Exception as exc:  # the load generator's statistics are one source among others
            self._gap("load statistics", f"{type(exc).__name__}: {_short(exc)}")
            return {}

    def _redis(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        admin = self.target if isinstance(self.target, RedisAdmin) else None
        names = admin.redis_names() if admin is not None else []
        if admin is None or not names:
            self._gap("redis", "the topology names no Redis nodes: INFO is not sampled")
            return out
        for name in names:
            try:
                with admin.redis_admin(name) as r:
                    info = r.info()
                out[name] = {"up": True, **{k: info.get(k) for k in REDIS_FIELDS}}
            except (redis.RedisError, OSError) as exc:
                self._gap(f"redis {name}", f"{_short(exc)} (sampled as down)")
                out[name] = {"up": False}
        return out

    def _postgres(self) -> dict[str, Any] | None:
        dsn = self.target.postgres_admin_dsn() if isinstance(self.target, PostgresAdmin) else None
        if dsn is None:
            self._gap("postgres", "the topology names no PostgreSQL DSN: pg_stat_database is not sampled")
            return None
        try:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(dsn, autocommit=True, connect_timeout=1)
            row = self._pg.execute(
                f"SELECT {', '.join(PG_FIELDS)} FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            return {"up": True, **dict(zip(PG_FIELDS, row or (), strict=False))}
        except psycopg.Error as exc:
            self._gap("postgres", f"{_short(exc)} (sampled as down)")
            if self._pg is not None:
                self._pg.close()
            self._pg = None
            return {"up": False}

    def _backends(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, url in self.target.endpoints.backends.items():
            out[name] = self._backend_metrics(name, url)
        return out

    def _backend_metrics(self, name: str, url: str) -> dict[str, Any]:
        """`up` False whenever no measurement came back, so the checks see no sample rather than zeros."""
        source = f"{name} /metrics"
        try:
            response = self._http.get(f"{url}/metrics")
        except httpx.TimeoutException:
            self._gap(source, f"no answer within {METRICS_TIMEOUT_S:g} s (sampled as down)")
            return {"up": False}
        except httpx.HTTPError as exc:
            self._gap(source, f"{type(exc).__name__}: {_short(exc)} (sampled as down)")
            return {"up": False}
        if response.status_code != 200:
            self._gap(source, f"HTTP {response.status_code}: the backend's metrics are not sampled")
            return {"up": False, "status": response.status_code}
        metrics, problem = prometheus_samples(response.text)
        if not metrics:
            self._gap(source, f"{problem or 'an empty body'}: the backend's metrics are not sampled")
            return {"up": False, "status": response.status_code}
        if problem:
            self._gap(source, f"partly {problem}: only the {len(metrics)} samples before it are kept")
        return {"up": True, "metrics": translate(metrics, self.metric_names)}
