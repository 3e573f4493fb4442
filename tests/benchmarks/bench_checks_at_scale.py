"""Benchmark of judging and reporting a run at production scale (not collected by pytest).

    flock -w 1800 /tmp/cachechaos-timing.lock timeout 720 .venv/bin/python \\
        tests/benchmarks/bench_checks_at_scale.py [--ops 10000000 20000000] [--keys 10000] [--processes 8]

For each size, generates a catalog-like history (bench_stale_checker.generate: 5,000 req/s, 5%
writes, lagging and failing reads, `processes` files) plus what the rest of the path reads: a
final read of every written key, a baseline phase, a fault, and each load process's traffic
config (an open model at the generated rate). Then, each in a fresh child process so that its
peak resident memory is its own, what a finished run goes through:

- judge (experiment.runner: _summarize): RunData.load, every check that reads the history
  (stale reads, lost writes, monotonic reads, hit rate, latency, errors, oversell, failover
  time, the history series through series_stat and recovery_time), and load fidelity;
- report (report.html.build_run_report): the run's HTML report, timelines and consistency section.

Prints each step's seconds and peak RSS (VmHWM, reset before each step: what the loaded run holds
plus what the step adds), each child's total and peak, and, given two sizes or more, the straight line through the two
largest drawn out to an hour at 20,000 req/s (72 M operations).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stale_checker import T0, generate, peak_rss_mb

from cachechaos.history.columns import RECORD_DTYPE
from cachechaos.history.format import MAGIC, Layer, Op
from cachechaos.store.journal import Journal

PRODUCTION_OPS = 72_000_000  # an hour at 20,000 req/s
RATE = 5000.0  # generate()'s request rate


def complete_run(run_dir: Path, processes: int, duration: float) -> None:
    """What generate() leaves out and the judging path reads: final reads of every written key (the
    highest version acknowledged), phases and a fault in the journal, the load processes' configs."""
    from cachechaos.history.columns import read_columns
    from cachechaos.traffic.config import CatalogModel, ProcessConfig
    from cachechaos.traffic.spec import TrafficSpec

    c = read_columns(run_dir)
    acked = (c.op == int(Op.WRITE)) & c.ok
    keys, versions = c.key[acked], c.version[acked]
    del c
    order = np.lexsort((versions, keys))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = keys[order][1:] != keys[order][:-1]
    final = np.zeros(int(last.sum()), dtype=RECORD_DTYPE)
    end = T0 + duration + 1.0
    final["invoke"], final["complete"], final["intended"] = end, end + 0.001, end
    final["key"], final["version"] = keys[order][last], versions[order][last]
    final["status"], final["op"], final["layer"] = 200, int(Op.FINAL_READ), int(Layer.L2)
    with open(run_dir / "history" / "final.hist", "wb") as f:
        f.write(MAGIC)
        final.tofile(f)
    journal = Journal(run_dir / "journal.jsonl")  # appends to generate()'s run_start
    fault_at = T0 + duration / 2
    journal.write("phase_start", t=T0, phase="baseline")
    journal.write("phase_end", t=fault_at, phase="baseline")
    journal.write("inject", t=fault_at, fault="kill-primary", type="redis_kill", phase="fault", target="redis-1",
                  params={}, ok=True)
    journal.write("heal", t=fault_at + 30, fault="kill-primary", type="redis_kill", phase="fault",
                  target="redis-1", params={}, ok=True)
    journal.write("run_end", t=T0 + duration, status="finished")
    journal.close()
    spec = TrafficSpec.model_validate({"processes": processes, "shape": {"kind": "arrival", "rate_per_s": RATE}})
    for i in range(processes):
        ProcessConfig(name=f"load-{i}", index=i, spec=spec, catalog=CatalogModel(products=10_000, categories=10,
                      users=500), backends=["http://127.0.0.1:1"], history_path=run_dir / "history" / f"load-{i}.hist",
                      stats_path=run_dir / "s", start_at=T0, duration_s=duration, run_time_s=duration + 60,
                      seed=1000 + i).write(run_dir / "nodes" / f"load-{i}" / "traffic.json")


def _checks() -> list[tuple[str, str, dict[str, Any]]]:
    return [("stale_read_rate", "stale_read_rate", {"window_s": 1.0}),
            ("lost_writes", "lost_writes", {"op": "product"}),
            ("monotonic_reads", "monotonic_reads", {}),
            ("hit_rate", "hit_rate", {"layer": "any"}),
            ("latency_p99", "latency", {"route": "catalog", "percentile": 99}),
            ("error_rate", "error_rate", {}),
            ("oversell", "oversell", {}),
            ("failover_time", "failover_time", {"op": "product"}),
            ("series_stat_p99", "series_stat", {"metric": "p99_ms", "stat": "max"}),
            ("recovery_time", "recovery_time", {"metric": "hit_rate"})]


def judge(run_dir: Path) -> dict[str, float]:
    """What the runner does with a finished run: load it, judge it, check its load's fidelity."""
    from cachechaos.checks.registry import run_check
    from cachechaos.checks.rundata import RunData
    from cachechaos.traffic.fidelity import load_fidelity, process_configs

    out: dict[str, float] = {}
    run = timed(out, "load", lambda: RunData.load(run_dir))
    out["records"] = len(run.columns)
    for label, name, params in _checks():
        timed(out, label, lambda: run_check(name, run, **params))  # noqa: B023 - called at once
    timed(out, "load_fidelity", lambda: load_fidelity(process_configs(run_dir), run.columns))
    return out


def report(run_dir: Path) -> dict[str, float]:
    from cachechaos.report.html import build_run_report

    out: dict[str, float] = {}
    timed(out, "report", lambda: build_run_report(run_dir))
    return out


def timed(out: dict[str, float], label: str, step: Callable[[], Any]) -> Any:
    """Run a step; its seconds and its own peak RSS (what is resident before it, the loaded run,
    included): the peak is reset before it, where the kernel allows (else the child's peak so far)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset VmHWM to the current RSS
    started = time.perf_counter()
    result = step()
    out[f"{label}_s"] = time.perf_counter() - started
    out[f"{label}_peak_mb"] = peak_rss_mb()
    return result


def _child(run_dir: Path, what: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", str(run_dir), "--what", what],
                         check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _line(x: list[float], y: list[float], at: float) -> float:
    """The straight line through the last two points, at `at`."""
    (x0, x1), (y0, y1) = x[-2:], y[-2:]
    return y0 + (y1 - y0) * (at - x0) / (x1 - x0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, nargs="+", default=[10_000_000, 20_000_000])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--what", default="judge", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(judge(args.measure) if args.what == "judge" else report(args.measure)))
        return
    totals: dict[str, list[float]] = {"judge_s": [], "judge_mb": [], "report_s": [], "report_mb": []}
    for ops in args.ops:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            run_dir = Path(tmp)
            started = time.perf_counter()
            duration = generate(run_dir, ops, args.keys, args.processes, args.seed)
            complete_run(run_dir, args.processes, duration)
            print(f"{ops:,} ops: generated in {time.perf_counter() - started:.1f} s")
            for what in ("judge", "report"):
                r = _child(run_dir, what)
                steps = [k[:-2] for k in r if k.endswith("_s")]
                print(f"  {what:6} " + ", ".join(f"{s} {r[s + '_s']:.2f} s" for s in steps))
                print(f"  {what:6} peak RSS during each step: " + ", ".join(f"{s} {r[s + '_peak_mb']:.0f}" for s in steps)
                      + " MB")
                total, peak = sum(r[s + "_s"] for s in steps), max(r[s + "_peak_mb"] for s in steps)
                print(f"  {what:6} total {total:.2f} s, peak RSS {peak:.0f} MB")
                totals[f"{what}_s"].append(total)
                totals[f"{what}_mb"].append(peak)
    if len(args.ops) >= 2:
        x = [float(o) for o in args.ops]
        print(f"drawn through {args.ops[-2]:,} and {args.ops[-1]:,} ops to {PRODUCTION_OPS:,}: "
              + ", ".join(f"{what} {_line(x, totals[what + '_s'], PRODUCTION_OPS):.0f} s and "
                          f"{_line(x, totals[what + '_mb'], PRODUCTION_OPS):,.0f} MB peak RSS"
                          for what in ("judge", "report")))


if __name__ == "__main__":
    main()
