"""Benchmark the built-in fault proxy against a direct Redis connection.

Run: .venv/bin/python tests/benchmarks/bench_proxy.py [--requests 200000] [--clients 50]

Starts a redis-server and `python -m cachechaos.proxy` on free 127.0.0.1 ports,
runs `redis-benchmark -t get` directly and through a proxy (no toxics), and
measures the median PING round trip on one connection both ways. Targets:
throughput ratio proxy/direct >= 0.5, added median round trip <= 50 us.
Not collected by pytest (no test_ prefix); everything it starts is stopped.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cachechaos.proxy.client import ToxiproxyClient

THROUGHPUT_TARGET = 0.5
ADDED_RTT_TARGET_US = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def redis_benchmark(port: int, clients: int, requests: int) -> float:
    """GET requests per second reported by redis-benchmark."""
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "get",
         "-c", str(clients), "-n", str(requests), "-q"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    match = re.search(r"GET: ([\d.]+) requests per second", out.replace("\r", "\n"))
    if match is None:
        raise RuntimeError(f"cannot parse redis-benchmark output: {out!r}")
    return float(match.group(1))


def ping_rtts_ns(port: int, count: int) -> list[int]:
    """Round trip of PING -> +PONG on one raw connection, in ns."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        samples = []
        for _ in range(count):
            start = time.perf_counter_ns()
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
            samples.append(time.perf_counter_ns() - start)
            if reply != b"+PONG\r\n":
                raise RuntimeError(f"unexpected reply {reply!r}")
        return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="redis-benchmark -n")
    parser.add_argument("--clients", type=int, default=50, help="redis-benchmark -c")
    parser.add_argument("--pings", type=int, default=20_000, help="PINGs per RTT round")
    args = parser.parse_args()
    for binary in ("redis-server", "redis-benchmark"):
        if shutil.which(binary) is None:
            print(f"{binary} not found: apt-get install -y redis-server redis-tools")
            return 2

    workdir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    redis_port, api_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cachechaos.proxy", "--listen", f"127.0.0.1:{api_port}"],
            stderr=open(workdir / "proxy.log", "wb")))  # noqa: SIM115
        wait_for_port(redis_port)
        with ToxiproxyClient(f"http://127.0.0.1:{api_port}") as client:
            client.wait_ready()
            proxy_port = client.create_proxy("bench", f"127.0.0.1:{redis_port}").listen_port

        # Warm up both paths, then alternate rounds so drift hits both alike.
        ping_rtts_ns(redis_port, 2000)
        ping_rtts_ns(proxy_port, 2000)
        direct_rtt: list[int] = []
        proxied_rtt: list[int] = []
        for _ in range(3):
            direct_rtt += ping_rtts_ns(redis_port, args.pings)
            proxied_rtt += ping_rtts_ns(proxy_port, args.pings)
        direct_med = statistics.median(direct_rtt) / 1000
        proxied_med = statistics.median(proxied_rtt) / 1000

        direct_rps = redis_benchmark(redis_port, args.clients, args.requests)
        proxied_rps = redis_benchmark(proxy_port, args.clients, args.requests)
        ratio = proxied_rps / direct_rps
        added = proxied_med - direct_med

        print(f"redis-benchmark -t get -c {args.clients} -n {args.requests} -q")
        print(f"  direct : {direct_rps:12,.0f} GET/s")
        print(f"  proxied: {proxied_rps:12,.0f} GET/s")
        verdict = "OK" if ratio >= THROUGHPUT_TARGET else "BELOW TARGET"
        print(f"  ratio proxy/direct: {ratio:.2f} (target >= {THROUGHPUT_TARGET}) {verdict}")
        print(f"PING round trip, one connection, median of {len(direct_rtt)}:")
        print(f"  direct : {direct_med:8.1f} us")
        print(f"  proxied: {proxied_med:8.1f} us")
        verdict = "OK" if added <= ADDED_RTT_TARGET_US else "ABOVE TARGET"
        print(f"  added  : {added:8.1f} us (target <= {ADDED_RTT_TARGET_US:.0f} us) {verdict}")
        return 0
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
