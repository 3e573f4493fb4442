"""Benchmark: what one request costs when it is sent alone and when it is sent in a burst (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_wake_cost.py [--rates 100 300 1000] [--window 6]

Explains bench_generator_cpu.py's ratio at low rates. Both generators there use the same HTTP
client; what differs is when they send. cachechaos sends each arrival at its own time, so its
event loop sleeps and wakes about once per request. Plain Locust's users (`constant_throughput`)
run in step and send in bursts, so the loop wakes about once per burst. This benchmark takes the
generators out: one process, Locust's HTTP client (`LocustUserAgent`, as cachechaos's users use it),
the canned endpoint of bench_generator_cpu.py, and the same rate sent two ways:

- smooth: Poisson arrivals, one request each, sent when due (a gevent timer);
- bursts: BURST requests together every BURST / rate seconds (plain Locust's 20 users in step).

Printed per rate and way: CPU seconds per 1,000 requests and the loop's wakes (voluntary context
switches of the main thread) per 1,000 requests, from /proc over the same window.

First it prints what one sleep and wake costs with nothing else in the process: a plain
`time.sleep` (no gevent, no request) of 0.1, 1 and 3 ms, repeated, CPU per sleep. On a virtual
machine whose idle core halts, that is tens of microseconds, and more the longer the core slept:
the price every smooth sender pays once per arrival, whatever it does in between.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generator_cpu import LOAD_CORE, cpu_s, free_port, pin, wakes

BURST = 20
WARMUP_S = 1.0


def send(port: int, rate: float, burst: int, seconds: float) -> None:
    """The child: sends at `rate` for `seconds`, one request per wake (burst 1) or `burst` at a time."""
    import random

    from gevent import monkey

    monkey.patch_all()
    import gevent
    from locust.contrib.fasthttp import LocustUserAgent

    agent = LocustUserAgent(max_retries=1, concurrency=burst)
    url = f"http://127.0.0.1:{port}/products/1"
    rng = random.Random(1)

    def one() -> None:
        response = agent.urlopen(url, method="GET")
        _ = response.content, response.headers.get("x-cache"), response.status_code

    due, end = time.monotonic(), time.monotonic() + seconds
    while due < end:
        due += rng.expovariate(rate) if burst == 1 else burst / rate
        gevent.sleep(max(0.0, due - time.monotonic()))
        if burst == 1:
            one()
        else:
            gevent.joinall([gevent.spawn(one) for _ in range(burst)])


def sleep_cost(seconds: float, count: int = 1000) -> float:
    """CPU microseconds one `time.sleep(seconds)` costs this process (pinned to the load core)."""
    pin(0, LOAD_CORE)
    time.sleep(seconds)
    c0 = time.process_time()
    for _ in range(count):
        time.sleep(seconds)
    return (time.process_time() - c0) / count * 1e6


def measure(port: int, rate: float, burst: int, window_s: float) -> tuple[float, float]:
    """(CPU seconds, wakes) per 1,000 requests of a child sending at `rate`, over window_s after a warm-up."""
    child = subprocess.Popen([sys.executable, __file__, "--child", str(port), str(rate), str(burst),
                              str(WARMUP_S + window_s + 1.0)])
    try:
        pin(child.pid, LOAD_CORE)
        time.sleep(WARMUP_S + 0.5)  # imports and the first connections
        c0, w0 = cpu_s(child.pid), wakes(child.pid)
        time.sleep(window_s)
        c1, w1 = cpu_s(child.pid), wakes(child.pid)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    requests = rate * window_s
    return (c1 - c0) / requests * 1000.0, (w1 - w0) / requests * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 300.0, 1000.0])
    parser.add_argument("--window", type=float, default=6.0)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        port, rate, burst, seconds = args.child
        send(int(port), float(rate), int(burst), float(seconds))
        return 0
    print("one sleep and wake, nothing else: " + ", ".join(
        f"{ms:g} ms sleep {sleep_cost(ms / 1000.0):.0f} us CPU" for ms in (0.1, 1.0, 3.0)), flush=True)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bench_generator_cpu.py")),
                               "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        for rate in args.rates:
            smooth = measure(port, rate, 1, args.window)
            bursts = measure(port, rate, BURST, args.window)
            print(f"{rate:>6.0f}/s  smooth: {smooth[0]:.3f} CPU-s and {smooth[1]:.0f} wakes per 1,000 requests;  "
                  f"bursts of {BURST}: {bursts[0]:.3f} CPU-s and {bursts[1]:.0f} wakes;  "
                  f"smooth costs {smooth[0] / bursts[0]:.2f}x", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
