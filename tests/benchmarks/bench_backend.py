"""Benchmark of one backend instance: L1-hit and L2-hit paths (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_backend.py [--duration 10] [--connections 32]

Brings up Redis + Sentinel + PostgreSQL with the local runtime (or uses --endpoints FILE,
a JSON {"sentinels": [...], "postgres_dsn": ...}), starts one instance pinned to CPU 0 and
drives it from CPU 1 with a raw asyncio HTTP/1.1 keep-alive client (httpx would be the
bottleneck). Reports closed-loop throughput, and latency percentiles at a fixed 1,000 req/s
measured from each request's scheduled send time (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
TARGET_RPS = 5_000
TARGET_P99_MS = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Conn:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for this server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def request_for(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def closed_loop(port: int, paths: list[str], connections: int, duration: float) -> dict[str, Any]:
    reqs = [request_for(p) for p in paths]
    conns = [await Conn.open(port) for _ in range(connections)]
    done = errors = 0
    stop = time.perf_counter() + duration

    async def worker(i: int, c: Conn) -> None:
        nonlocal done, errors
        j = i
        while time.perf_counter() < stop:
            status, _ = await c.get(reqs[j % len(reqs)])
            j += 1
            done += 1
            errors += status != 200

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {"rps": round(done / elapsed), "requests": done, "errors": errors}


async def fixed_rate(port: int, paths: list[str], rate: float, duration: float) -> dict[str, Any]:
    reqs = [request_for(p) for p in paths]
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(await Conn.open(port))
    lat: list[float] = []
    errors = 0

    async def one(scheduled: float, req: bytes) -> None:
        nonlocal errors
        c = await pool.get()
        try:
            status, _ = await c.get(req)
        finally:
            pool.put_nowait(c)
        lat.append(time.perf_counter() - scheduled)
        errors += status != 200

    n = int(rate * duration)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(n):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, reqs[i % len(reqs)])))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    lat.sort()

    def pct(q: float) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3)

    return {
        "rate": rate,
        "requests": n,
        "errors": errors,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 3),
    }


@contextlib.contextmanager
def endpoints(path: str | None, cpu: int) -> Iterator[dict[str, Any]]:
    if path:
        yield json.loads(Path(path).read_text())
        return
    sys.path.insert(0, str(ROOT))
    from cachechaos.runtime.local import LocalTopology
    from cachechaos.runtime.topology import TopologySpec

    spec = TopologySpec.model_validate({"postgres": {"products": 10_000}, "backends": {"instances": 0}})
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as d:
        topo = LocalTopology(spec, Path(d))
        topo.up()
        # Keep Redis, PostgreSQL, Sentinels and the proxy off the measured instance's core.
        for node in topo.nodes.values():
            if node.pid is not None:
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(node.pid, {cpu})
        try:
            ep = topo.endpoints
            yield {"sentinels": ep.sentinels, "postgres_dsn": ep.postgres_dsn, "master_name": ep.master_name}
        finally:
            topo.down()


@contextlib.contextmanager
def instance(ep: dict[str, Any], cfg_extra: dict[str, Any], cpu: int) -> Iterator[int]:
    port = free_port()
    cfg = {
        "instance": "bench",
        "sentinels": ep["sentinels"],
        "postgres_dsn": ep["postgres_dsn"],
        "master_name": ep.get("master_name", "cachechaos"),
        **cfg_extra,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(cfg, f)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cachechaos.backend", "serve", "--config", f.name, "--port", str(port)],
        cwd=ROOT,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("backend did not become healthy")
            time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.unlink(f.name)


async def run_case(port: int, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    # Prime caches so the measured path is the one named.
    for p in dict.fromkeys(paths):
        httpx.get(f"http://127.0.0.1:{port}{p}")
    await closed_loop(port, paths, args.connections, 1.0)  # warm-up of the loop itself
    closed = await closed_loop(port, paths, args.connections, args.duration)
    fixed = await fixed_rate(port, paths, 1000.0, args.duration)
    return {"closed_loop": closed, "at_1000_rps": fixed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--endpoints", help="JSON file with sentinels and postgres_dsn")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = cpus[0], cpus[-1]
    os.sched_setaffinity(0, {client_cpu})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results: dict[str, Any] = {"server_cpu": server_cpu, "client_cpu": client_cpu}
    with endpoints(args.endpoints, client_cpu) as ep:
        # L1 hits: 100 hot products, all in L1.
        with instance(ep, {"strategy": "delete", "l1": {"enabled": True, "ttl_s": 3600}}, server_cpu) as port:
            results["l1_hit"] = asyncio.run(run_case(port, [f"/products/{i}" for i in range(1, 101)], args))
        # L2 hits: L1 off, every read is one Redis GET through Sentinel-discovered primary.
        with instance(
            ep, {"strategy": "delete", "l1": {"enabled": False}, "single_flight": {"enabled": False}}, server_cpu
        ) as port:
            results["l2_hit"] = asyncio.run(run_case(port, [f"/products/{i}" for i in range(1, 101)], args))
    print(json.dumps(results, indent=2))
    l1 = results["l1_hit"]
    ok = l1["closed_loop"]["rps"] >= TARGET_RPS and all(
        results[k]["at_1000_rps"]["p99_ms"] < TARGET_P99_MS for k in ("l1_hit", "l2_hit")
    )
    print(f"targets (L1 >= {TARGET_RPS} req/s, p99 < {TARGET_P99_MS} ms at 1,000 req/s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
