"""Benchmark the HTML report on a 5-minute run.

Run: .venv/bin/python tests/benchmarks/bench_report.py [--rps 1000] [--duration 300] [--keep DIR]

Writes a synthetic run directory with the toolkit's own writers (tests/report/synthetic.py):
300 s at 1,000 req/s from two load processes (about 300,000 history records), 300 metric
samples, two backends, two faults (a primary kill with a Sentinel failover, then a FLUSHALL),
and the summary.json the runner would write. Then times build_run_report, best of --repeat, and
prints build time and file size. Targets: < 5 s and < 5 MB. Exit 1 when a target is missed.
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

from cachechaos.history import read_history
from cachechaos.report.html import build_run_report
from tests.report.synthetic import Scenario, finish_run, write_run

TIME_TARGET_S = 5.0
SIZE_TARGET_BYTES = 5 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the run here and keep it (default: a temporary directory)")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        sc = Scenario(name="bench-5min", duration_s=args.duration, rps=args.rps, faults=2, backends=2, seed=3)
        started = time.perf_counter()
        run_dir = write_run(root / "bench-5min", sc)
        summary = finish_run(run_dir, sc)
        records = len(read_history(run_dir))
        samples = sum(1 for _ in (run_dir / "metrics.jsonl").open())
        print(f"run: {args.duration} s at {args.rps} req/s: {records:,} history records, {samples} metric samples, "
              f"2 backends, 2 faults, status {summary['status']} (generated in {time.perf_counter() - started:.1f} s)")
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            path = build_run_report(run_dir)
            times.append(time.perf_counter() - started)
        size = path.stat().st_size
        best, worst = min(times), max(times)
        print(f"build_run_report: best {best:.2f} s, worst {worst:.2f} s over {args.repeat} (target < {TIME_TARGET_S:.0f} s)")
        print(f"index.html: {size / 1024 / 1024:.2f} MB ({size:,} bytes; target < 5 MB)")
        ok = worst < TIME_TARGET_S and size < SIZE_TARGET_BYTES
        print("OK" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
