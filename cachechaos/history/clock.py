"""The clock every history record is stamped with.

`time.time()` can step (NTP, an operator) in the middle of a request, which
would turn into a negative or inflated latency. `now()` is the monotonic
perf_counter anchored once per process to the wall clock: intervals within a
process are monotonic and precise, and stamps of different processes on one
machine still order by wall time (the anchor is taken at import).
"""

from __future__ import annotations

import time

_WALL0 = time.time()
_MONO0 = time.perf_counter()


def now() -> float:
    """Unix seconds, advancing monotonically within this process."""
    return _WALL0 + (time.perf_counter() - _MONO0)
