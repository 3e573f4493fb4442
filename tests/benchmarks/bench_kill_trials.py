"""Kill trials: 50 runs of `cachechaos run` killed by SIGKILL, SIGTERM or SIGINT at random instants (not collected by pytest).

    .venv/bin/python tests/benchmarks/bench_kill_trials.py [--external 20] [--local 15] [--compose 15] [--seed 0]
        [--budget-s 1500]

The 50 are split by what each target can leave behind: 20 external (a `redis_config` fault and a latency
toxic on nodes the toolkit does not own: the most kinds of change to leave), 15 local (the toolkit's own
processes: only orphans to count) and 15 compose (the example project, targets/compose, with a `pause`
of a Sentinel and a `disconnect` of the replica; skipped with a message when no Docker engine or compose
tool answers). Each target gets the three signals in turn. Each trial (tests/hardening/kill_trials.py)
takes /tmp/cachechaos-heavy.lock for itself, so other heavy jobs interleave. Every other trial of a
target is killed 0-5.5 s after its run's first inject edge (during the faults or the recovery); the
others at an instant after the start: external 0.5-9 s, local 3-14 s, compose 2-11 s. No
trial starts once `--budget-s` has passed (the compose project is still taken down). Prints every
trial with what its run was doing when the signal came (starting, faults, after faults) and the
totals: orphaned processes, changes left applied before and after `cachechaos heal` (target: 0
orphans, 0 left after heal), runs that did not end within 60 s of the signal, runs a SIGTERM or
SIGINT stopped before their end that did not exit 130. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import fcntl
import itertools
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cachechaos.docker import images
from cachechaos.docker.engine import connect, engine_answers
from cachechaos.runtime.local import LocalTopology
from tests.conftest import make_spec
from tests.docker.compose_project import compose_command, example_project, example_spec
from tests.hardening.kill_trials import (
    SIGNALS,
    Trial,
    compose_trial,
    external_topology,
    external_trial,
    local_trial,
    wrong_exit,
)

LOCK = Path("/tmp/cachechaos-heavy.lock")
AFTER_INJECT = (0.0, 5.5)  # the faults' phase (4 s) and the recovery after it


@contextmanager
def heavy_lock() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _print(i: int, trial: Trial) -> None:
    anchor = "inject" if trial.after_inject else "start"
    print(f"{i:>3} {trial.target:<8} {trial.signal:<7} {trial.delay_s:4.1f}s after {anchor:<6} ({trial.when:<12}) "
          f"exit {trial.exit_code}  "
          f"orphans {len(trial.orphans)}  left before heal {len(trial.left_before_heal)}  "
          f"after heal {len(trial.left_after_heal)}", flush=True)
    for line in trial.orphans + trial.left_after_heal:
        print(f"      ! {line}", flush=True)


def _totals(label: str, of: list[Trial]) -> None:
    print(f"  {label:<12} {len(of):>3} trials: orphans {sum(len(t.orphans) for t in of)}, changes left before heal "
          f"{sum(len(t.left_before_heal) for t in of)} (in {sum(bool(t.left_before_heal) for t in of)} runs), "
          f"after heal {sum(len(t.left_after_heal) for t in of)}")


Plan = list[tuple[str, str, float, bool]]  # (target, signal, delay, measured from the first inject edge)


def local_and_external(plan: Plan, root: Path, over: Callable[[], bool]) -> Iterator[Trial]:
    spec = make_spec(products=300, backends={"instances": 1, "config": {"strategy": "event"}},
                     redis={"down_after_ms": 60_000, "sentinels": 1, "quorum": 1})
    topo = LocalTopology(spec, root / "owned")
    with heavy_lock():
        topo.up()
    try:
        topology = external_topology(topo, root / "external.yaml")
        for i, (target, sig, delay, after_inject) in enumerate(plan):
            if over():
                return
            workdir = root / f"{target}-{i}"
            workdir.mkdir()
            with heavy_lock():
                yield (external_trial(topo, topology, workdir, sig, delay, after_inject) if target == "external"
                       else local_trial(workdir, sig, delay, after_inject))
    finally:
        topo.close()


def compose(plan: Plan, root: Path, over: Callable[[], bool]) -> Iterator[Trial]:
    reason = engine_answers()
    if reason is not None or compose_command() is None:
        print(f"compose trials skipped: {reason or 'no compose tool'}", flush=True)
        return
    client = connect(timeout=900)
    try:
        built = images.build(client, "offline", lambda m: print(f"  images: {m}", flush=True), root / "image-logs")
        with example_project(client, built.toolkit, f"cckill{os.getpid()}") as project:
            spec = example_spec(project, final_reads={"quiescence_s": 0})
            for i, (_target, sig, delay, after_inject) in enumerate(plan):
                if over():
                    return
                workdir = root / f"compose-{i}"
                workdir.mkdir()
                with heavy_lock():
                    yield compose_trial(client, spec, workdir, sig, delay, after_inject)
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--external", type=int, default=20)
    parser.add_argument("--local", type=int, default=15)
    parser.add_argument("--compose", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=1500, help="start no trial after this long")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signals = list(SIGNALS)
    delays = {"external": (0.5, 9.0), "local": (3.0, 14.0), "compose": (2.0, 11.0)}
    # Every other trial is timed from the first inject edge: a start-up's length varies with the machine's
    # load, and kills timed from the start alone land mostly before any fault acts.
    plans: dict[str, Plan] = {
        target: [(target, signals[i % 3], rng.uniform(*(AFTER_INJECT if i % 2 else delays[target])), bool(i % 2))
                 for i in range(count)]
        for target, count in (("external", args.external), ("local", args.local), ("compose", args.compose))}
    trials: list[Trial] = []
    started = time.perf_counter()

    def over() -> bool:
        return time.perf_counter() - started > args.budget_s

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mixed = plans["external"] + plans["local"]
        rng.shuffle(mixed)
        for trial in itertools.chain(local_and_external(mixed, root, over), compose(plans["compose"], root, over)):
            trials.append(trial)
            _print(len(trials), trial)
    elapsed = time.perf_counter() - started
    orphans = sum(len(t.orphans) for t in trials)
    before = sum(len(t.left_before_heal) for t in trials)
    after = sum(len(t.left_after_heal) for t in trials)
    hung = sum(t.exit_code is None for t in trials)
    runs_left = sum(bool(t.left_before_heal) for t in trials)
    planned = sum(len(p) for p in plans.values())
    print(f"\n{len(trials)} of {planned} trials ({', '.join(f'{sum(t.target == k for t in trials)} {k}' for k in plans)}) "
          f"in {elapsed:.0f} s")
    for kind in plans:
        _totals(kind, [t for t in trials if t.target == kind])
    for sig in signals:
        _totals(sig, [t for t in trials if t.signal == sig])
    for when in ("starting", "faults", "after faults", "finished"):
        _totals(when, [t for t in trials if t.when == when])
    print(f"orphaned processes: {orphans}")
    print(f"changes left applied before heal: {before} (in {runs_left} runs); after heal: {after}")
    print(f"runs still alive 60 s after the signal: {hung}")
    wrong = [t for t in trials if wrong_exit(t)]
    print(f"runs stopped by SIGTERM/SIGINT before their end that did not exit 130: {len(wrong)}"
          + "".join(f"\n      ! {t.target} {t.signal} ({t.when}) exit {t.exit_code}" for t in wrong))
    return 1 if orphans or after or hung or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
