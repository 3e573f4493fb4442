"""Backend instances as real subprocesses against the lead's real topology."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from redis.sentinel import Sentinel

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class Instance:
    """One `python -m cachechaos.backend serve` child process."""

    def __init__(self, cfg: dict[str, Any], workdir: Path) -> None:
        self.cfg = cfg
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        name = cfg["instance"]
        self.config_path = workdir / f"{name}.json"
        self.config_path.write_text(json.dumps(cfg))
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cachechaos.backend",
                "serve",
                "--config",
                str(self.config_path),
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"instance exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.http.get("/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance not healthy: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def get(self, pid: int) -> httpx.Response:
        return self.http.get(f"/products/{pid}")

    def put_price(self, pid: int, price: float) -> dict[str, Any]:
        r = self.http.put(f"/products/{pid}", json={"price": price})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.http.get("/metrics").text
        out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items() if n == name and want <= set(ls))

    def db_reads(self) -> float:
        return self.metric("db_queries_total", kind="product_read")

    def health(self) -> dict[str, Any]:
        return dict(self.http.get("/health").json())

    def pause(self, key: str, point: str = "before_fill") -> None:
        assert self.http.post("/_debug/pause", json={"point": point, "key": key}).status_code == 200

    def waiting(self, key: str, point: str = "before_fill") -> bool:
        return bool(self.http.get("/_debug/waiting", params={"point": point, "key": key}).json()["waiting"])

    def resume(self, key: str, point: str = "before_fill") -> bool:
        return bool(self.http.post("/_debug/resume", json={"point": point, "key": key}).json()["released"])

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


Launcher = Callable[..., list[Instance]]


def base_config(topo: Any, name: str) -> dict[str, Any]:
    ep = topo.endpoints
    return {
        "instance": name,
        "sentinels": ep.sentinels,
        "master_name": ep.master_name,
        "postgres_dsn": ep.postgres_dsn,
        "redis_timeout_ms": 200,
        "pg_pool_size": 4,
        "debug_hooks": True,
    }


def launcher_for(topo: Any, workdir: Path, started: list[Instance]) -> Launcher:
    def launch(*configs: dict[str, Any], **common: Any) -> list[Instance]:
        """Start one instance per config (merged over `common`), in parallel; wait for health."""
        configs = configs or ({},)
        new = []
        for cfg in configs:
            name = f"b{len(started) + 1}"
            full = deep_merge(deep_merge(base_config(topo, name), common), cfg)
            inst = Instance(full, workdir)
            started.append(inst)
            new.append(inst)
        for inst in new:
            inst.wait_healthy()
        return new

    return launch


@pytest.fixture
def shared(topology: Any) -> Any:
    """The session topology, back to its seeded state and with Redis flushed."""
    topology.reseed()
    return topology


@pytest.fixture
def launch(shared: Any, tmp_path: Path) -> Iterator[Launcher]:
    started: list[Instance] = []
    try:
        yield launcher_for(shared, tmp_path, started)
    finally:
        for inst in started:
            inst.stop()


@pytest.fixture
def redis_primary(shared: Any) -> Iterator[redis.Redis]:
    """A client to whatever primary Sentinel names now, to look inside L2."""
    ep = shared.endpoints
    sentinel = Sentinel([tuple(a.rsplit(":", 1)) for a in ep.sentinels], socket_timeout=1.0)
    client = sentinel.master_for(ep.master_name, socket_timeout=1.0)
    yield client
    client.close()


def pg_exec(topo: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(topo.endpoints.postgres_dsn, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def wait_for(pred: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def quiet_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private topology whose Sentinels wait a minute before calling a node down.

    For tests that cut a Redis proxy for a while: the shared topology would fail over.
    Tests must not assume which node is primary (one of them forces a failover).
    """
    from cachechaos.runtime.local import LocalTopology
    from tests.conftest import make_spec

    with LocalTopology(make_spec(products=300, redis={"down_after_ms": 60_000}), tmp_path_factory.mktemp("quiet")) as topo:
        yield topo


@pytest.fixture
def quiet(quiet_topology: Any) -> Iterator[Any]:
    """The quiet topology reseeded; afterwards every proxy is enabled and toxic-free again."""
    quiet_topology.reseed()
    try:
        yield quiet_topology
    finally:
        for node in quiet_topology.redis_nodes:
            node.resume()
        with quiet_topology.proxy_client() as client:
            client.reset()


@pytest.fixture
def quiet_launch(quiet: Any, tmp_path: Path) -> Iterator[Launcher]:
    started: list[Instance] = []
    try:
        yield launcher_for(quiet, tmp_path, started)
    finally:
        for inst in started:
            inst.stop()
