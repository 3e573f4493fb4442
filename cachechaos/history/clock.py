"""The clock every history record is stamped with.

`time.time()` can step (NTP, an operator) in the middle of a request, which
would turn into a negative or inflated latency. `now()` is the monotonic
perf_counter anchored once per process to the wall clock: intervals within a
process are monotonic and precise, and stamps of different processes on one
machine still order by wall time (the anchor is taken at import).

A load worker on another machine has another wall clock. The master measures
the worker's offset (traffic/clocks.py) and the worker applies it here
(`set_offset`), so `now()` reads the master's time and every record of the run
is on one timeline. `local_now()` is the uncorrected clock the probes read.

`CACHECHAOS_TEST_CLOCK_SKEW_S` shifts this process's clock by a known amount:
for tests only, to stand in for a machine whose clock is off.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cachechaos.store.files import read_json
from cachechaos.store.rundir import LOAD_DIR

SKEW_ENV = "CACHECHAOS_TEST_CLOCK_SKEW_S"
CLOCKS_FILE = "clocks.json"  # load/clocks.json: every worker's measured offsets (traffic/clocks.py)

_WALL0 = time.time() + float(os.environ.get(SKEW_ENV) or 0.0)
_MONO0 = time.perf_counter()
_offset = 0.0  # this clock minus the master's, as last measured


def local_now() -> float:
    """This machine's clock (unix seconds, monotonic within the process), uncorrected."""
    return _WALL0 + (time.perf_counter() - _MONO0)


def now() -> float:
    """Unix seconds on the run's timeline (the master's clock), advancing monotonically within this process."""
    return _WALL0 - _offset + (time.perf_counter() - _MONO0)


def set_offset(offset_s: float) -> None:
    """From now on, stamp records `offset_s` earlier than this machine's clock reads."""
    global _offset
    _offset = float(offset_s)


def offset() -> float:
    return _offset


def clock_uncertainty(run_dir: Path) -> dict[str, float]:
    """Per load process, the largest uncertainty of its clock correction during the run (seconds).

    Processes not listed (the runner's own requests, a run without load workers' clocks) stamp on the
    master's clock itself: uncertainty 0.
    """
    path = Path(run_dir) / LOAD_DIR / CLOCKS_FILE
    if not path.exists():
        return {}
    workers = read_json(path).get("workers") or {}
    return {name: float(w.get("max_uncertainty_s") or 0.0) for name, w in workers.items()}
