"""Clock offsets of load workers against the master, NTP-style, and what the checks make of them.

The master sends its time t0, the worker answers with its own clock t1, the
master receives the answer at t2. If the two legs took equally long, the
worker's clock is ahead by `t1 - (t0 + t2) / 2`; since either leg may have
taken the whole round trip, the offset is known to within `(t2 - t0) / 2`. Of
several probes the one with the shortest round trip is the tightest. The
worker subtracts the offset from its stamps (history.clock.set_offset), so
every record of a run is on the master's clock, to within the uncertainty that
load/clocks.json records per worker (docs/distributed-load.md).
"""

from __future__ import annotations

from typing import NamedTuple

from cachechaos.history.clock import CLOCKS_FILE

__all__ = ["CLOCKS_FILE", "JOIN_PROBES", "PROBE_EVERY_S", "RUN_PROBES", "Probe", "best"]
JOIN_PROBES = 10
RUN_PROBES = 3
PROBE_EVERY_S = 5.0


class Probe(NamedTuple):
    t0: float  # master's clock, sent
    t1: float  # worker's clock, answered
    t2: float  # master's clock, received

    @property
    def offset(self) -> float:
        return self.t1 - (self.t0 + self.t2) / 2

    @property
    def uncertainty(self) -> float:
        return (self.t2 - self.t0) / 2


def best(probes: list[Probe]) -> Probe:
    return min(probes, key=lambda p: p.t2 - p.t0)
