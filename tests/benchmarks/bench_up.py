"""Benchmark: time from `up` to healthy for the whole default topology (median of 5).

Target (issue 2): under 5 s on the project's 2-core machine.
Run: .venv/bin/python tests/benchmarks/bench_up.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.topology import TopologySpec


def main(runs: int = 5) -> None:
    spec = TopologySpec()  # the default: 1 primary, 1 replica, 3 Sentinels, 10,000 products
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        for i in range(runs):
            topo = LocalTopology(spec, Path(tmp) / f"run-{i}")
            start = time.perf_counter()
            try:
                topo.up()
                times.append(time.perf_counter() - start)
            finally:
                topo.down()
            print(f"run {i + 1}: healthy after {times[-1]:.2f}s", flush=True)
    print(f"up -> healthy, default topology: median {statistics.median(times):.2f}s "
          f"(min {min(times):.2f}s, max {max(times):.2f}s, {runs} runs; target < 5 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
