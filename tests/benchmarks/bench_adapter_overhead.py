"""What an adapter costs the load generator (not collected by pytest).

    flock /tmp/cachechaos-heavy.lock .venv/bin/python tests/benchmarks/bench_adapter_overhead.py \
        [--duration 6] [--rounds 3] [--users 20] [--rate 0]

One Locust process (cachechaos's ShopperUser, mix = browse only) reads GET /products/{id} from
the canned-response stub of bench_recording.py (pinned to CPU 0; the generator to CPU 1), as:

  contract  no adapter: the sample backend's contract (version sliced from the body's tail)
  versions  a declarative adapter that maps the same API: URL template, the value and the
            version by JMESPath (json.loads of every body)
  values    the same adapter without a version: the value read back is mapped to its tag

Prints requests per CPU-second of the generator (its capacity) per variant, the medians over
the rounds (variants alternate within a round), the adapter's cost against the contract, and
the microseconds per read the adapter's request building and answer reading take in process.
Reads only: the stub answers GETs, and reads are most of every mix.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recording import pinned, serve_stub, timed_load  # noqa: E402 - the benchmarks' directory goes on sys.path first

VARIANTS = ("contract", "versions", "values")
READ = {"method": "GET", "url": "/products/{key}", "value": "price"}
ADAPTERS: dict[str, dict[str, Any] | None] = {
    "contract": None,
    "versions": {"keys": {"first": 1, "last": 2000}, "read": {**READ, "version": "version"}, "layer_header": "X-Cache"},
    "values": {"keys": {"first": 1, "last": 2000}, "read": READ, "layer_header": "X-Cache"},
}


def run_load(variant: str, host: str, users: int, duration: float, out: Path, rate: float) -> None:
    import locust  # noqa: F401  (monkey-patches the stdlib before anything opens a socket)

    from cachechaos.adapters.model import AdapterSpec
    from cachechaos.history.format import read_history_file
    from cachechaos.history.writer import HistoryWriter
    from cachechaos.traffic.adapted import shop_factory_for
    from cachechaos.traffic.config import ProcessConfig
    from cachechaos.traffic.recorder import Recorder
    from cachechaos.traffic.spec import TrafficSpec
    from cachechaos.traffic.users import make_user_class

    hist = out.with_suffix(".hist")
    spec = TrafficSpec.model_validate({"users": users, "processes": 1, "mix": {
        "browse": 1, "hot": 0, "write_price": 0, "discount": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}})
    adapter = ADAPTERS[variant]
    cfg = ProcessConfig(name="bench", index=0, spec=spec, catalog={"products": 2000, "categories": 100, "users": 1000},
                        backends=[host], history_path=hist, stats_path=out.with_suffix(".stats"), start_at=time.time(),
                        duration_s=duration, run_time_s=duration + 5, seed=1,
                        adapter=AdapterSpec.model_validate(adapter) if adapter else None)
    recorder = Recorder(HistoryWriter(hist))
    user_class = make_user_class(cfg, recorder, shop_factory_for(cfg))
    timed = timed_load(user_class, users, duration, rate)
    recorder.close()
    records = list(read_history_file(hist))
    out.write_text(json.dumps({"variant": variant, **timed, "records": len(records),
                               # what the history kept: versions (contract, versions) or the value's tag (values: 0)
                               "versions": sorted({r.version for r in records})[:3],
                               "layers": sorted({r.layer for r in records})}))


def in_process(n: int = 200_000) -> dict[str, float]:
    """Microseconds per read spent building the request and reading the answer, without the network."""
    import timeit

    from bench_recording import BODY

    from cachechaos.adapters.compiled import CompiledAdapter
    from cachechaos.adapters.model import AdapterSpec
    from cachechaos.adapters.values import UniqueValues
    from cachechaos.traffic.recorder import body_version

    out = {"contract": timeit.timeit(lambda: (f"/products/{17}", body_version(BODY)), number=n) / n * 1e6}
    headers = {"x-cache": "l1"}
    for variant in ("versions", "values"):
        spec = AdapterSpec.model_validate(ADAPTERS[variant])
        adapter = CompiledAdapter(spec, UniqueValues(spec.values, 5))
        op = adapter.ops["read"]

        def one(adapter: CompiledAdapter = adapter, op: Any = op) -> None:
            op.request(adapter.keys.fields("key", 17))
            adapter.read_version("read", 200, BODY, headers)
            adapter.layer(headers)

        out[variant] = timeit.timeit(one, number=n) / n * 1e6
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.0, help="pace at this many req/s (0: closed loop, as fast as it goes)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--stub", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub:
        serve_stub(args.stub)
        return 0
    if args.child:
        run_load(args.child, args.host, args.users, args.duration, args.out, args.rate)
        return 0

    from cachechaos.runtime.ports import free_port

    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    port = free_port()
    stub = subprocess.Popen([sys.executable, __file__, "--stub", str(port)], preexec_fn=pinned(0))
    try:
        time.sleep(1.0)
        with tempfile.TemporaryDirectory(prefix="bench-adapter-") as tmpdir:
            for rnd in range(args.rounds):
                for variant in VARIANTS:
                    out = Path(tmpdir) / f"{variant}-{rnd}.json"
                    subprocess.run([sys.executable, __file__, "--child", variant, "--host", f"http://127.0.0.1:{port}",
                                    "--users", str(args.users), "--duration", str(args.duration), "--out", str(out),
                                    "--rate", str(args.rate)], check=True, timeout=args.duration + 60, preexec_fn=pinned(1))
                    results[variant].append(json.loads(out.read_text()))
    finally:
        stub.terminate()
        stub.wait(10)

    capacity = {v: statistics.median(r["requests"] / r["cpu_s"] for r in rs) for v, rs in results.items()}
    wall = {v: statistics.median(r["requests"] / r["wall_s"] for r in rs) for v, rs in results.items()}
    base = capacity["contract"]
    print(f"\nstub endpoint, {args.users} users, {args.duration:g} s x {args.rounds} rounds, rate {args.rate or 'closed loop'}")
    for v in VARIANTS:
        extra_us = (1 / capacity[v] - 1 / base) * 1e6
        print(f"  {v:9s} {wall[v]:8.0f} req/s  {capacity[v]:8.0f} req per CPU-s  "
              f"({capacity[v] / base - 1:+.1%} capacity, {extra_us:+.1f} us CPU per request)  "
              f"runs: {[round(r['requests'] / r['cpu_s']) for r in results[v]]}")
    print("  in process, us per read (request built, answer read):",
          json.dumps({v: round(us, 2) for v, us in in_process().items()}))
    print("  history check:", json.dumps({v: {k: rs[-1][k] for k in ("records", "versions", "layers", "failures")}
                                           for v, rs in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
