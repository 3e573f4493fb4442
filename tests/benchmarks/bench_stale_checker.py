"""Benchmark of the stale-read checker on a 1,000,000-operation history (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_stale_checker.py [--ops 1000000] [--keys 10000] [--processes 8]

Generates a history like a catalog run: Zipf-ish reads over `keys` products, 5% price writes,
reads that sometimes lag the last committed version (a cache that is late to invalidate), 1% of
requests failing; writes it as `processes` history files in a temporary run directory and times
RunData.load and stale_read_rate separately. Target: the check under 10 s.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from pathlib import Path

from cachechaos.checks import RunData
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.history import HistoryWriter, Layer, Op
from cachechaos.store.files import write_json
from cachechaos.store.journal import Journal


def generate(run_dir: Path, ops: int, keys: int, processes: int, seed: int) -> float:
    rng = random.Random(seed)
    duration = ops / 5000.0  # 5,000 req/s
    t0 = 1_700_000_000.0
    cum = list(itertools.accumulate(1.0 / (k + 1) ** 1.1 for k in range(keys)))
    chosen = rng.choices(range(keys), cum_weights=cum, k=ops)
    versions = [1] * keys
    committed_at = [[t0 - 1.0] for _ in range(keys)]  # ack time of each version, index = version - 1
    writers = [HistoryWriter(run_dir / "history" / f"load-{i}.hist", flush_every=3600) for i in range(processes)]
    layers = (Layer.L1, Layer.L2, Layer.MISS)
    for n, key in enumerate(chosen):
        invoke = t0 + duration * n / ops
        latency = rng.expovariate(1 / 0.004)
        w = writers[n % processes]
        client = n % 500
        failed = rng.random() < 0.01
        status = rng.choice((500, 0)) if failed else 200
        if rng.random() < 0.05:
            if not failed:
                versions[key] += 1
                committed_at[key].append(invoke + latency)
            w.record(invoke, invoke + latency, Op.WRITE, key, versions[key] if not failed else -1, 0, status, client)
        else:
            # Mostly the newest acknowledged version; sometimes one a cache still holds.
            acked = committed_at[key]
            newest = len(acked)
            while newest > 1 and acked[newest - 1] >= invoke:
                newest -= 1
            seen = newest if rng.random() < 0.97 else max(1, newest - rng.randint(1, 3))
            w.record(invoke, invoke + latency, Op.READ, key, seen, rng.choice(layers), status, client)
    for w in writers:
        w.close()
    journal = Journal(run_dir / "journal.jsonl")
    journal.write("run_start")
    journal.close()
    write_json(run_dir / "run.json", {"run_id": "bench", "status": "finished", "started_at": t0,
                                      "ended_at": t0 + duration})
    return duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-stale-") as tmp:
        run_dir = Path(tmp)
        started = time.perf_counter()
        generate(run_dir, args.ops, args.keys, args.processes, args.seed)
        print(f"generate   {time.perf_counter() - started:7.2f} s  ({args.ops:,} ops, {args.keys:,} keys)")

        started = time.perf_counter()
        run = RunData.load(run_dir)
        load_s = time.perf_counter() - started
        print(f"load       {load_s:7.2f} s  ({len(run.history):,} records)")

        started = time.perf_counter()
        m = stale_read_rate(run, window_s=1.0)
        check_s = time.perf_counter() - started
        print(f"check      {check_s:7.2f} s  stale@1s={m.value:.4%} reads={m.details['reads']:,} "
              f"stale@0={m.details['fractions']['0']:.4%} max_age={m.details['ages']['max_s']:.2f}s")
        print(f"target: check < 10 s -> {'OK' if check_s < 10 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
