"""Kill trials: 50 runs of `cachechaos run` killed by SIGKILL, SIGTERM or SIGINT at random instants (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_kill_trials.py [--trials 50] [--local-share 0.3] [--seed 0]

Each trial (tests/hardening/kill_trials.py) takes /tmp/cachechaos-heavy.lock for itself, so other
heavy jobs interleave. External trials attach to a topology this script owns, with a `redis_config`
fault and a latency toxic, killed 0.5-9 s after the start; local trials run the local runtime and are
killed 3-14 s after the start. Prints every trial and the totals: orphaned processes, faults left
applied before and after `cachechaos heal` (target: 0 orphans, 0 left after heal), runs that did not
end within 60 s of the signal. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import fcntl
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cachechaos.runtime.local import LocalTopology
from tests.conftest import make_spec
from tests.hardening.kill_trials import SIGNALS, Trial, external_topology, external_trial, local_trial

LOCK = Path("/tmp/cachechaos-heavy.lock")


@contextmanager
def heavy_lock() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--local-share", type=float, default=0.3, help="share of trials against the local runtime")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signals = list(SIGNALS)
    plan = [("local" if rng.random() < args.local_share else "external", signals[i % 3]) for i in range(args.trials)]
    trials: list[Trial] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = make_spec(products=300, backends={"instances": 1, "config": {"strategy": "event"}},
                         redis={"down_after_ms": 60_000, "sentinels": 1, "quorum": 1})
        topo = LocalTopology(spec, root / "owned")
        with heavy_lock():
            topo.up()
        try:
            topology = external_topology(topo, root / "external.yaml")
            for i, (target, sig) in enumerate(plan):
                workdir = root / f"trial-{i}"
                workdir.mkdir()
                with heavy_lock():
                    if target == "external":
                        trial = external_trial(topo, topology, workdir, sig, rng.uniform(0.5, 9.0))
                    else:
                        trial = local_trial(workdir, sig, rng.uniform(3.0, 14.0))
                trials.append(trial)
                print(f"{i + 1:>3} {trial.target:<8} {trial.signal:<7} at {trial.delay_s:4.1f}s exit {trial.exit_code}  "
                      f"orphans {len(trial.orphans)}  left before heal {len(trial.left_before_heal)}  "
                      f"after heal {len(trial.left_after_heal)}", flush=True)
                for line in trial.orphans + trial.left_after_heal:
                    print(f"      ! {line}", flush=True)
        finally:
            topo.close()
    elapsed = time.perf_counter() - started
    orphans = sum(len(t.orphans) for t in trials)
    before = sum(len(t.left_before_heal) for t in trials)
    after = sum(len(t.left_after_heal) for t in trials)
    hung = sum(t.exit_code is None for t in trials)
    runs_left = sum(bool(t.left_before_heal) for t in trials)
    print(f"\n{len(trials)} trials ({sum(t.target == 'external' for t in trials)} external, "
          f"{sum(t.target == 'local' for t in trials)} local) in {elapsed:.0f} s")
    for sig in signals:
        of = [t for t in trials if t.signal == sig]
        print(f"  {sig:<7} {len(of):>3} trials: orphans {sum(len(t.orphans) for t in of)}, changes left before heal "
              f"{sum(len(t.left_before_heal) for t in of)} (in {sum(bool(t.left_before_heal) for t in of)} runs), "
              f"after heal {sum(len(t.left_after_heal) for t in of)}")
    print(f"orphaned processes: {orphans}")
    print(f"changes left applied before heal: {before} (in {runs_left} runs); after heal: {after}")
    print(f"runs still alive 60 s after the signal: {hung}")
    return 1 if orphans or after or hung else 0


if __name__ == "__main__":
    sys.exit(main())
