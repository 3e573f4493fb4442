"""CPU cost of the live view's stale-read count while a run records 3,000 req/s (not collected by pytest).

    flock /tmp/cachechaos-heavy.lock .venv/bin/python tests/benchmarks/bench_live_stale.py [--rate 3000] [--seconds 60]

A child process appends history records at `rate` per second through HistoryWriter (flushed once a
second, `processes` files, as load processes do): Zipf-ish keys, 5% writes, 3% of reads lagging.
This process runs the live view (experiment.live.LiveView, not drawn) and calls its refresh once a
second, as the sampler's events do, timing the CPU each refresh takes. Prints the CPU share of one
core, the slowest refresh, and, as the baseline, one whole-run reload (RunData.load +
stale_read_rate) at the end, which is what a non-incremental count would cost per update by then.
Target: under 5% of one core. After the run, the live count (finished) is compared with the whole-run check.
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

from rich.console import Console

from cachechaos.checks import RunData
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.checks.stale_stream import StaleStream
from cachechaos.experiment.live import LiveState, LiveView
from cachechaos.history import HistoryWriter, Layer, Op
from cachechaos.history.clock import now
from cachechaos.history.columns import HistoryTail

TARGET_CORE_SHARE = 0.05


def write_load(run_dir: Path, rate: int, seconds: float, processes: int, keys: int = 10_000) -> None:
    rng = random.Random(1)
    writers = [HistoryWriter(run_dir / "history" / f"load-{i}.hist", flush_every=1.0) for i in range(processes)]
    cum = [0.0]
    for k in range(keys):
        cum.append(cum[-1] + 1.0 / (k + 1) ** 1.1)
    versions = [1] * keys
    start = now()
    sent = 0
    while (t := now()) - start < seconds:
        due = int((t - start) * rate)
        batch = rng.choices(range(keys), cum_weights=cum[1:], k=due - sent)
        for key in batch:
            w = writers[sent % processes]
            latency = rng.expovariate(1 / 0.004)
            if rng.random() < 0.05:
                versions[key] += 1
                w.record(t, t + latency, int(Op.WRITE), key, versions[key], 0, 200, sent % 500)
            else:
                lag = rng.randint(1, 3) if rng.random() < 0.03 else 0
                w.record(t, t + latency, int(Op.READ), key, max(1, versions[key] - lag),
                         rng.choice((Layer.L1, Layer.L2, Layer.MISS)), 200, sent % 500)
            sent += 1
        time.sleep(0.01)
    for w in writers:
        w.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_load(args.write, args.rate, args.seconds, args.processes)
        return
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        run_dir = Path(tmp)
        writer = subprocess.Popen([sys.executable, __file__, "--write", tmp, "--rate", str(args.rate),
                                   "--seconds", str(args.seconds), "--processes", str(args.processes)])
        state = LiveState("bench", args.seconds, ["steady"])
        costs: list[float] = []
        started = time.monotonic()
        try:
            with LiveView(Console(file=io.StringIO()), state, run_dir, enabled=False) as view:
                while writer.poll() is None:
                    cpu = time.thread_time()
                    view.refresh()
                    costs.append(time.thread_time() - cpu)
                    time.sleep(max(0.0, 1.0 - (time.monotonic() - started) % 1.0))
                wall = time.monotonic() - started
        finally:
            writer.kill()
            writer.wait()
        # The same stream over the finished files (nothing left to arrive) must give the whole-run answer.
        tail, stream = HistoryTail(run_dir), StaleStream()
        stream.add(tail.read_new())
        stream.finish()
        tail.close()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        m = stale_read_rate(RunData.load(run_dir), window_s=0.0)
        reload_s = time.perf_counter() - t0
        reload_cpu = time.process_time() - cpu0
        share = sum(costs) / wall
        print(f"live stale count: {len(costs)} refreshes over {wall:.0f} s at {args.rate:,} req/s "
              f"({m.details['reads']:,} reads judged in the end)")
        print(f"  CPU {sum(costs) * 1000:.0f} ms in all = {share:.2%} of one core; per refresh mean "
              f"{1000 * sum(costs) / max(1, len(costs)):.2f} ms, max {1000 * max(costs, default=0):.2f} ms")
        print(f"  baseline: one whole-run reload + check at the end {reload_s * 1000:.0f} ms wall, "
              f"{reload_cpu * 1000:.0f} ms CPU (grows with the run)")
        same = (stream.stale, stream.reads) == (m.details["stale"], m.details["reads"])
        print(f"  last live figure {state.stale}; the stream over the finished files {stream.stale:,} of "
              f"{stream.reads:,} = whole-run check {m.details['stale']:,} of {m.details['reads']:,}: {'yes' if same else 'NO'}")
        print(f"target: < {TARGET_CORE_SHARE:.0%} of one core -> {share:.2%}: "
              f"{'OK' if share < TARGET_CORE_SHARE else 'MISSED'}")


if __name__ == "__main__":
    main()
