"""Benchmark of loading a run and the stale-read check at production scale (not collected by pytest).

    flock /tmp/cachechaos-heavy.lock .venv/bin/python tests/benchmarks/bench_stale_checker.py \\
        [--ops 10000000] [--keys 10000] [--processes 8] [--no-baseline]

Generates a history like a catalog run at 5,000 req/s: Zipf-ish reads over `keys` products, 5% price
writes, reads that sometimes (3%) lag the newest acknowledged version by 1-3 (a cache late to
invalidate), 1% of requests failing; written in the history file format as `processes` files of
a temporary run directory. Then, each in a fresh child process so that its peak resident memory
is its own: the columnar path (RunData.load + stale_read_rate) and, as the baseline in the same
run, the per-record path it replaced (format.read_history + the reference implementation in
tests/checks/reference_checks.py). Prints load and check seconds and peak RSS of each, checks that
both found the same stale reads, and the target: columnar load + check under 5 s and 1.5 GB.
With --all-checks the columnar child then runs the other history checks too (its peak RSS is then
theirs as well; the 5 s / 1.5 GB target is about load + stale check, so measure it without).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

from cachechaos.checks import RunData
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.history.columns import RECORD_DTYPE
from cachechaos.history.format import MAGIC, Layer, Op
from cachechaos.store.files import write_json
from cachechaos.store.journal import Journal

T0 = 1_700_000_000.0
TARGET_S = 5.0
TARGET_RSS_MB = 1536


def _segment_rank(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys."""
    starts = np.ones(len(sorted_keys), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(sorted_keys)), 0))
    return np.arange(len(sorted_keys)) - first


def generate(run_dir: Path, ops: int, keys: int, processes: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    duration = ops / 5000.0
    weights = 1.0 / np.arange(1, keys + 1) ** 1.1
    key = rng.choice(keys, size=ops, p=weights / weights.sum()).astype(np.int64)
    invoke = T0 + duration * np.arange(ops) / ops
    complete = invoke + rng.exponential(0.004, ops)
    failed = rng.random(ops) < 0.01
    status = np.where(failed, rng.choice(np.array([500, 0]), ops), 200).astype(np.uint16)
    write = rng.random(ops) < 0.05
    version = np.full(ops, -1, dtype=np.int64)

    # Per key, acknowledged writes commit 2, 3, ... in invoke order (version 1 predates the run).
    acked = np.flatnonzero(write & ~failed)
    by_key = acked[np.argsort(key[acked], kind="stable")]
    version[by_key] = _segment_rank(key[by_key]) + 2

    # A read sees 1 + the number of writes of its key acknowledged before it was sent, or lags.
    reads = np.flatnonzero(~write)
    ev_key = np.concatenate([key[acked], key[reads]])
    ev_t = np.concatenate([complete[acked], invoke[reads]])
    is_ack = np.concatenate([np.ones(len(acked), dtype=np.int64), np.zeros(len(reads), dtype=np.int64)])
    order = np.lexsort((is_ack, ev_t, ev_key))  # an ack at a read's invoke is not before it
    ev_key, is_ack = ev_key[order], is_ack[order]
    acks_before = np.cumsum(is_ack) - is_ack
    starts = np.ones(len(ev_key), dtype=bool)
    starts[1:] = ev_key[1:] != ev_key[:-1]
    acks_before -= np.maximum.accumulate(np.where(starts, acks_before, 0))
    newest = np.empty(len(order), dtype=np.int64)
    newest[order] = acks_before + 1
    seen = newest[len(acked):]
    lag = np.where(rng.random(len(reads)) < 0.03, rng.integers(1, 4, len(reads)), 0)
    version[reads] = np.maximum(1, seen - lag)

    records = np.empty(ops, dtype=RECORD_DTYPE)
    records["invoke"], records["complete"], records["intended"] = invoke, complete, invoke
    records["key"], records["version"], records["status"] = key, version, status
    records["client"] = np.arange(ops) % 500
    records["op"] = np.where(write, int(Op.WRITE), int(Op.READ))
    records["layer"] = np.where(write, int(Layer.NONE), rng.integers(int(Layer.L1), int(Layer.MISS) + 1, ops))
    (run_dir / "history").mkdir(parents=True)
    for p in range(processes):
        with open(run_dir / "history" / f"load-{p}.hist", "wb") as f:
            f.write(MAGIC)
            records[p::processes].tofile(f)
    journal = Journal(run_dir / "journal.jsonl")
    journal.write("run_start", t=T0)
    journal.close()
    write_json(run_dir / "run.json", {"run_id": "bench", "status": "finished", "started_at": T0,
                                      "ended_at": T0 + duration})
    return duration


def _other_checks(run: RunData) -> dict[str, float]:
    """Seconds of each other history check, run after the stale check (peak RSS covers them all)."""
    from cachechaos.checks.durability import lost_writes
    from cachechaos.checks.hits import hit_rate
    from cachechaos.checks.latency_slo import latency
    from cachechaos.checks.monotonic import monotonic_reads

    out: dict[str, float] = {}
    for name, check in (("lost_writes", lambda: lost_writes(run, op="product")),
                        ("monotonic_reads", lambda: monotonic_reads(run)),
                        ("hit_rate", lambda: hit_rate(run, layer="any")),
                        ("latency_p99", lambda: latency(run, route="catalog", percentile=99))):
        started = time.perf_counter()
        check()
        out[f"{name}_s"] = time.perf_counter() - started
    return out


def measure(run_dir: Path, path: str, all_checks: bool = False) -> dict[str, float]:
    """Load and check in this (fresh) process; the figures as a dict."""
    started = time.perf_counter()
    run = RunData.load(run_dir)
    if path == "per-record":
        from cachechaos.history.format import read_history
        from tests.checks import reference_checks as ref

        reference = ref.ReferenceRun(read_history(run_dir), RunData.build(run.run, run.journal, [], []))
        records = len(reference.history)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        value, details = ref.stale_read_rate(reference, window_s=1.0)
    else:
        records = len(run.columns)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        m = stale_read_rate(run, window_s=1.0)
        value, details = m.value, m.details
    check_s = time.perf_counter() - started
    others = _other_checks(run) if all_checks and path == "columnar" else {}
    return {**others, "records": records, "load_s": load_s, "check_s": check_s, "stale_at_1s": value or 0.0,
            "stale_at_0": details["stale_counts"]["0"], "reads": details["reads"],
            "max_age_s": details["ages"]["max_s"] or 0.0,
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, not ru_maxrss, which after a fork and exec still
    carries the parent's peak (here the generator's gigabytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(run_dir: Path, path: str, all_checks: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", str(run_dir), "--path", path,
                          *(["--all-checks"] if all_checks else [])],
                         check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="skip the per-record path (slow, GBs at 10 M+)")
    parser.add_argument("--all-checks", action="store_true",
                        help="after the stale check, time lost writes, monotonic reads, hit rate, latency (columnar)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="columnar", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.path, args.all_checks)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-stale-") as tmp:
        run_dir = Path(tmp)
        started = time.perf_counter()
        generate(run_dir, args.ops, args.keys, args.processes, args.seed)
        print(f"generate    {time.perf_counter() - started:7.2f} s  ({args.ops:,} ops, {args.keys:,} keys, "
              f"{args.processes} files)")
        results: dict[str, dict[str, float]] = {}
        for path in ("columnar", *(() if args.no_baseline else ("per-record",))):
            r = results[path] = _child(run_dir, path, args.all_checks)
            print(f"{path:11} load {r['load_s']:6.2f} s  check {r['check_s']:6.2f} s  "
                  f"load+check {r['load_s'] + r['check_s']:6.2f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  "
                  f"({r['records']:,.0f} records, stale@1s={r['stale_at_1s']:.4%}, stale@0={r['stale_at_0']:,.0f} "
                  f"of {r['reads']:,.0f} reads, max age {r['max_age_s']:.2f} s)")
        new = results["columnar"]
        if args.all_checks:
            print("columnar, other checks after it: " + ", ".join(
                f"{k[:-2]} {v:.2f} s" for k, v in new.items() if k.endswith("_s") and k[:-2] in
                ("lost_writes", "monotonic_reads", "hit_rate", "latency_p99")) +
                f"; peak RSS of the whole child {new['peak_rss_mb']:.0f} MB")
        if "per-record" in results:
            old = results["per-record"]
            same = all(old[k] == new[k] for k in ("records", "stale_at_1s", "stale_at_0", "reads", "max_age_s"))
            print(f"per-record / columnar: load+check x{(old['load_s'] + old['check_s']) / (new['load_s'] + new['check_s']):.1f}, "
                  f"peak RSS x{old['peak_rss_mb'] / new['peak_rss_mb']:.1f}; same stale reads: {'yes' if same else 'NO'}")
        total = new["load_s"] + new["check_s"]
        ok = total < TARGET_S and new["peak_rss_mb"] < TARGET_RSS_MB
        print(f"target: columnar load+check < {TARGET_S:g} s and < {TARGET_RSS_MB} MB -> "
              f"{total:.2f} s, {new['peak_rss_mb']:.0f} MB: {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
