"""Benchmark: requests/s of one run with 1 and with 2 local load workers, and the master's CPU (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_distributed_load.py [--window 8] [--users 64]

The workers (closed model: `--users` users per run, browse GETs) drive the canned
keep-alive endpoint of bench_generator_cpu.py (uvloop, one fixed product answer) on 127.0.0.1 as fast
as they can. Printed per run: requests/s over the steady window (history records, warm-up left out),
the master's CPU (user + system) over that window, and its CPU seconds per second per 1,000 req/s: the
cost of carrying the history chunks, statistics and clock probes over Locust's message channel.
On a machine with fewer cores than workers + server, the workers share cores with the server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from cachechaos.history.format import read_history
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec
from tests.benchmarks.bench_generator_cpu import free_port

WARMUP_S = 2.0
SERVER = Path(__file__).with_name("bench_generator_cpu.py")


def one_run(url: str, workers: int, users: int, window_s: float, tmp: Path) -> dict[str, float]:
    spec = TrafficSpec.model_validate({
        "users": users, "processes": workers, "shape": {"kind": "steady"},
        "mix": {"browse": 1, "hot": 0, "write_price": 0, "discount": 0, "checkout": 0, "cart_read": 0,
                "cart_write": 0, "absent": 0},
    })
    duration = WARMUP_S + window_s + 1.0
    run_dir = tmp / f"workers-{workers}"
    run = LoadRun(spec, [url], run_dir, duration, Catalog(products=1, categories=1, users=100))
    run.start()
    try:
        assert run._master is not None and run._master.pid is not None
        master = psutil.Process(run._master.pid)
        time.sleep(WARMUP_S)
        t0, c0 = time.time(), master.cpu_times()
        time.sleep(window_s)
        t1, c1 = time.time(), master.cpu_times()
        assert run.wait(duration + 20)
    finally:
        run.stop()
    sent = sum(1 for r in read_history(run_dir) if t0 <= r.invoke < t1)
    rps = sent / (t1 - t0)
    cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0)
    return {"workers": workers, "rps": rps, "master_cpu": cpu, "master_cpu_per_1000": cpu / (rps / 1000.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=8.0, help="seconds of the steady window per run")
    parser.add_argument("--users", type=int, default=64, help="users per run (split over the workers)")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, str(SERVER), "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp_name:
            for workers in (1, 2):
                r = one_run(f"http://127.0.0.1:{port}", workers, args.users, args.window, Path(tmp_name))
                print(f"{workers} worker(s): {r['rps']:,.0f} req/s; master CPU {r['master_cpu'] * 100:.1f}% of a core, "
                      f"{r['master_cpu_per_1000'] * 1000:.1f} ms CPU per s per 1,000 req/s", flush=True)
    finally:
        server.kill()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
