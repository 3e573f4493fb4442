"""Once a second: Redis INFO of every node, pg_stat_database, each backend's /metrics, load statistics."""

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
from prometheus_client.parser import text_string_to_metric_families

from cachechaos.runtime.target import Target

REDIS_FIELDS = ("role", "keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys", "used_memory",
                "maxmemory", "connected_clients", "total_commands_processed")
PG_FIELDS = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_updated", "numbackends")


def _prometheus_samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # creation timestamps, not measurements
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


class Sampler:
    """Samples in a thread; sources are read around the fault proxies so faults do not blind it."""

    def __init__(self, target: Target, path: Path, load_stats: Callable[[], dict[str, Any]] | None = None,
                 interval: float = 1.0) -> None:
        self.target = target
        self.path = path
        self.load_stats = load_stats
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._pg: psycopg.Connection | None = None
        self._http = httpx.Client(timeout=0.5)
        self.last: dict[str, Any] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._http.close()
        if self._pg is not None:
            self._pg.close()

    def _loop(self) -> None:
        with open(self.path, "a", buffering=1) as out:
            next_at = time.monotonic()
            while not self._stop.is_set():
                sample = self.sample()
                self.last = sample
                out.write(json.dumps(sample) + "\n")
                next_at += self.interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def sample(self) -> dict[str, Any]:
        return {"t": time.time(), "redis": self._redis(), "postgres": self._postgres(),
                "backends": self._backends(), "load": self.load_stats() if self.load_stats else {}}

    def _redis(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.target.redis_names():
            try:
                with self.target.redis_admin(name) as r:
                    info = r.info()
                out[name] = {"up": True, **{k: info.get(k) for k in REDIS_FIELDS}}
            except (redis.RedisError, OSError):
                out[name] = {"up": False}
        return out

    def _postgres(self) -> dict[str, Any]:
        try:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(self.target.postgres_admin_dsn(), autocommit=True, connect_timeout=1)
            row = self._pg.execute(
                f"SELECT {', '.join(PG_FIELDS)} FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            return {"up": True, **dict(zip(PG_FIELDS, row or (), strict=False))}
        except psycopg.Error:
            if self._pg is not None:
                self._pg.close()
            self._pg = None
            return {"up": False}

    def _backends(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, url in enumerate(self.target.endpoints.backends, start=1):
            try:
                response = self._http.get(f"{url}/metrics")
                out[f"backend-{i}"] = {"up": response.status_code == 200, "metrics": _prometheus_samples(response.text)}
            except httpx.HTTPError:
                out[f"backend-{i}"] = {"up": False}
        return out
