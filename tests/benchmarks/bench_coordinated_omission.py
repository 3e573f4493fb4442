"""Benchmark: a 1 s stall is charged to every arrival it delayed (no coordinated omission; not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_coordinated_omission.py [--rate 300] [--freeze 1.0]

Brings the default topology up, drives open-model load (evenly spaced arrivals, so the count
due in one second is exact) at ONE backend instance, and freezes that instance with SIGSTOP for
`--freeze` seconds in the middle of the run (SIGCONT after). Then, from the recorded history:

- every arrival whose intended send time falls in the freeze must be recorded with a response
  time of at least (freeze end - its intended time) - 10 ms;
- the number of arrivals due during the freeze must be rate x freeze +- 10% (the scheduler did
  not slow down with the system);
- the percentiles with the correction (response time, from the intended send) and without it
  (service time, from the actual send) are printed side by side, with what a closed-loop
  generator of --closed-users paced users (the engine before the open model paced 300 req/s
  with 75) would have recorded: one request per stalled user instead of every arrival the stall
  held up. Service time equals response time here unless the generator itself sent late.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from cachechaos.checks.stats import percentile
from cachechaos.history.format import Op, read_history
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.topology import TopologySpec
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec

PRODUCTS = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--freeze", type=float, default=1.0, help="seconds the backend is stopped")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--closed-users", type=int, default=75)
    args = parser.parse_args()

    spec = TopologySpec.model_validate({"postgres": {"products": PRODUCTS},
                                        "backends": {"instances": 1, "config": {"strategy": "ttl"}}})
    with tempfile.TemporaryDirectory(prefix="bench-co-") as tmp:
        topo = LocalTopology(spec, Path(tmp) / "topology")
        try:
            topo.up()
            backend = topo.nodes["backend-1"]
            traffic = TrafficSpec.model_validate({
                "processes": 2, "users": 50, "seed": 5, "request_timeout_s": 5,
                "shape": {"kind": "arrival", "rate_per_s": args.rate, "spacing": "uniform"},
                "mix": {"browse": 1, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0},
            })
            run_dir = Path(tmp) / "run"
            load = LoadRun(traffic, list(topo.endpoints.backends.values()), run_dir, args.duration, Catalog(PRODUCTS, 10, 100))
            load.start()
            freeze_at = time.time() + args.duration / 2 - args.freeze / 2
            time.sleep(max(0.0, freeze_at - time.time()))
            backend.pause()
            frozen_from = time.time()
            threading.Event().wait(args.freeze)
            frozen_to = time.time()
            backend.resume()
            load.wait(args.duration + 20)
            load.stop()
        finally:
            topo.down()
        records = [r for r in read_history(run_dir) if r.op == Op.READ]

    due_in_freeze = [r for r in records if frozen_from <= r.due < frozen_to]
    expected = args.rate * (frozen_to - frozen_from)
    short = [r for r in due_in_freeze if r.response_ms < (frozen_to - r.due) * 1000.0 - 10.0]
    print(f"freeze {frozen_to - frozen_from:.3f} s at {args.rate:.0f} arrivals/s: {len(due_in_freeze)} arrivals due "
          f"during it (expected {expected:.0f}, {len(due_in_freeze) / expected - 1:+.1%})")
    print(f"arrivals due during the freeze recorded shorter than (freeze end - intended) - 10 ms: {len(short)}")
    # A closed-loop user stalls on its one request and sends nothing else until the freeze ends: of every
    # arrival the freeze held up, such a generator records only the first one per user.
    closed = [r.response_ms for r in records if not frozen_from <= r.due < frozen_to]
    closed += [r.response_ms for r in due_in_freeze[:args.closed_users]]
    print(f"{'latency (ms)':<44}{'p50':>8}{'p99':>9}{'p99.9':>9}{'max':>8}{'mean':>8}{'>=100ms':>9}")
    for name, values in (("with the correction (from the intended send)", [r.response_ms for r in records]),
                         ("without it (from the actual send)", [r.service_ms for r in records]),
                         (f"closed loop of {args.closed_users} users (estimate)", closed)):
        ordered = sorted(values)
        print(f"{name:<44}{percentile(ordered, 50):>8.2f}{percentile(ordered, 99):>9.1f}"
              f"{percentile(ordered, 99.9):>9.1f}{ordered[-1]:>8.0f}{sum(ordered) / len(ordered):>8.1f}"
              f"{sum(1 for v in ordered if v >= 100):>9}")
    ok = not short and abs(len(due_in_freeze) - expected) <= 0.1 * expected
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
