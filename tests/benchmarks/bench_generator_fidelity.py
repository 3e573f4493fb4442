"""Benchmark: do the load generators measure what an independent client measures? (not collected by pytest)

    .venv/bin/python tests/benchmarks/bench_generator_fidelity.py [--rate 300] [--duration 20]

Brings the default topology up (two backends), warms a small catalogue into every L1, then runs
the open-model load (browse only, so nearly every read is an L1 hit) while an independent
probe process sends one sequential keep-alive GET of an L1-hot product every 20 ms with a
plain socket and times it with perf_counter. Prints, for L1-hit reads of the same run:

- the generators' recorded p50/p99 (response time from the intended send, and service time)
  against the probe's p50/p99 (acceptance: p50 within 1 ms, p99 within 2x);
- per load process, the coefficient of variation of the gaps between actual sends (Poisson: ~1)
  and the largest share of a second's sends that fell into one 50 ms slice of it (<= 15%).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from cachechaos.checks.stats import percentile
from cachechaos.history.format import Layer, Op, read_history
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.topology import TopologySpec
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec

PRODUCTS = 200

# The probe runs in its own process so neither side's scheduler disturbs the other.
PROBE = textwrap.dedent("""
    import http.client, json, sys, time
    host, port, path, until, every = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
    conn = http.client.HTTPConnection(host, port, timeout=5)
    samples = []
    next_at = time.time()
    while time.time() < until:
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        ms = (time.perf_counter() - t0) * 1000.0
        if resp.getheader("x-cache") == "l1":
            samples.append(ms)
        next_at += every
        time.sleep(max(0.0, next_at - time.time()))
    print(json.dumps(samples))
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0, help="arrivals per second over both load processes")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--spacing", choices=["poisson", "uniform"], default="poisson")
    args = parser.parse_args()

    spec = TopologySpec.model_validate({
        "postgres": {"products": PRODUCTS},
        "backends": {"instances": 2, "config": {"strategy": "ttl", "l1": {"ttl_s": 600}, "l2": {"ttl_s": 600}}},
    })
    with tempfile.TemporaryDirectory(prefix="bench-fidelity-") as tmp:
        topo = LocalTopology(spec, Path(tmp) / "topology")
        try:
            topo.up()
            backends = list(topo.endpoints.backends.values())
            import httpx

            with httpx.Client(timeout=5) as http:  # every product into every L1 before the measurement
                for base in backends:
                    for pid in range(1, PRODUCTS + 1):
                        http.get(f"{base}/products/{pid}")
            traffic = TrafficSpec.model_validate({
                "processes": 2, "users": 50, "seed": 11,
                "shape": {"kind": "arrival", "rate_per_s": args.rate, "spacing": args.spacing},
                "mix": {"browse": 1, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0},
                "zipf_s": 1.0,
            })
            run_dir = Path(tmp) / "run"
            load = LoadRun(traffic, backends, run_dir, args.duration, Catalog(PRODUCTS, 10, 100))
            host, port = backends[0].removeprefix("http://").rsplit(":", 1)
            probe = subprocess.Popen(
                [sys.executable, "-c", PROBE, host, port, "/products/1", str(time.time() + args.duration + 1), "0.02"],
                stdout=subprocess.PIPE, text=True)
            load.start()
            load.wait(args.duration + 20)
            load.stop()
            probe_out, _ = probe.communicate(timeout=30)
        finally:
            topo.down()
        records = read_history(run_dir)

    probe_ms = sorted(json.loads(probe_out))
    hits = [r for r in records if r.op == Op.READ and r.ok and r.layer == Layer.L1]
    response = sorted(r.response_ms for r in hits)
    service = sorted(r.service_ms for r in hits)
    reads = [r for r in records if r.op == Op.READ]
    print(f"load: {args.rate:.0f} arrivals/s ({args.spacing}) for {args.duration:.0f} s; "
          f"{len(reads)} reads sent, {len(hits)} L1 hits, {sum(1 for r in records if r.op == Op.DROPPED)} dropped")
    p = {name: (percentile(v, 50) or 0.0, percentile(v, 99) or 0.0)
         for name, v in (("probe", probe_ms), ("response", response), ("service", service))}
    print(f"independent probe ({len(probe_ms)} L1 hits):  p50 {p['probe'][0]:.2f} ms  p99 {p['probe'][1]:.2f} ms")
    print(f"generators, response time:     p50 {p['response'][0]:.2f} ms  p99 {p['response'][1]:.2f} ms")
    print(f"generators, service time:      p50 {p['service'][0]:.2f} ms  p99 {p['service'][1]:.2f} ms")
    lags = sorted((r.invoke - r.due) * 1000.0 for r in reads)
    print(f"send lag (actual - intended):  p50 {percentile(lags, 50) or 0:.2f} ms  p99 {percentile(lags, 99) or 0:.2f} ms")
    ok_p50 = abs(p["response"][0] - p["probe"][0]) <= 1.0
    ok_p99 = p["response"][1] <= 2 * p["probe"][1]
    print(f"p50 within 1 ms of the probe: {'yes' if ok_p50 else 'NO'} ({p['response'][0] - p['probe'][0]:+.2f} ms); "
          f"p99 within 2x: {'yes' if ok_p99 else 'NO'} ({p['response'][1] / max(p['probe'][1], 1e-9):.2f}x)")

    ok_shape = True
    for process in sorted({r.process for r in reads}):
        sends = sorted(r.invoke for r in reads if r.process == process)
        gaps = [b - a for a, b in itertools.pairwise(sends)]
        cv = statistics.pstdev(gaps) / statistics.fmean(gaps)
        worst = 0.0
        for second in range(int(sends[0]) + 1, int(sends[-1])):  # whole seconds only
            in_second = [t for t in sends if second <= t < second + 1]
            if len(in_second) < 20:
                continue
            slices = [0] * 20
            for t in in_second:
                slices[int((t - second) * 20)] += 1
            worst = max(worst, max(slices) / len(in_second))
        good = (0.9 <= cv <= 1.1 or args.spacing == "uniform") and worst <= 0.15
        ok_shape &= good
        print(f"{process}: {len(sends)} sends, gap CV {cv:.3f}, busiest 50 ms slice {worst:.1%} of its second "
              f"{'ok' if good else 'OUT OF BOUNDS'}")
    return 0 if ok_p50 and ok_p99 and ok_shape else 1


if __name__ == "__main__":
    sys.exit(main())
