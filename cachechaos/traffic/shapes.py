"""Load shapes as pure functions of run time: (users, spawn rate) of ONE load process, or None = stop.

Locust's `LoadTestShape` adapters (`locust_shapes.py`) call these once a
second with the seconds since the run's common start, so every process sees
the same timeline (a spike starts at the same instant everywhere). Keeping the
arithmetic here, away from Locust, lets tests check it without importing
gevent's monkey-patching into the test process.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachechaos.traffic.arrivals import open_shape
from cachechaos.traffic.spec import RampShape, SpikeShape, SteadyShape, TrafficSpec

Tick = tuple[int, float] | None


def share(total: int, processes: int, index: int) -> int:
    """This process's part of `total` users; the parts sum to `total`."""
    base, extra = divmod(total, processes)
    return base + (1 if index < extra else 0)


@dataclass(frozen=True)
class ProcessShape:
    """The shape of the whole load, seen by process `index` of `processes`."""

    processes: int
    index: int
    duration_s: float  # the load ends here: tick() returns None

    def total_users(self, t: float) -> int:
        raise NotImplementedError

    def spawn_rate(self, t: float) -> float:
        raise NotImplementedError

    def tick(self, t: float) -> Tick:
        if t >= self.duration_s:
            return None
        users = share(self.total_users(t), self.processes, self.index)
        # Locust's shape worker blocks in start() until a step is reached; a rate of at
        # least the step per tick (1 s) keeps the next tick on time.
        return users, max(self.spawn_rate(t) / self.processes, 1.0)


@dataclass(frozen=True)
class Steady(ProcessShape):
    users: int
    rate: float

    def total_users(self, t: float) -> int:
        return self.users

    def spawn_rate(self, t: float) -> float:
        return self.rate


@dataclass(frozen=True)
class Ramp(ProcessShape):
    start_users: int
    end_users: int
    ramp_s: float

    def total_users(self, t: float) -> int:
        frac = min(max(t / self.ramp_s, 0.0), 1.0)
        return round(self.start_users + (self.end_users - self.start_users) * frac)

    def spawn_rate(self, t: float) -> float:
        return abs(self.end_users - self.start_users) / self.ramp_s * 2 + 1


@dataclass(frozen=True)
class Spike(ProcessShape):
    base_users: int
    spike_users: int
    at_s: float
    spike_s: float
    rate: float

    def total_users(self, t: float) -> int:
        return self.spike_users if self.at_s <= t < self.at_s + self.spike_s else self.base_users

    def spawn_rate(self, t: float) -> float:
        # A spike is sudden: reach it within one tick whatever spawn_rate says.
        return max(self.rate, abs(self.spike_users - self.base_users))


def process_shape(spec: TrafficSpec, index: int, duration_s: float) -> ProcessShape:
    s = spec.shape
    n = spec.processes
    if isinstance(s, SteadyShape):
        users = s.users if s.users is not None else spec.users
        return Steady(n, index, duration_s, users=users, rate=spec.spawn_rate)
    if isinstance(s, RampShape):
        return Ramp(n, index, duration_s, start_users=s.start_users, end_users=s.end_users, ramp_s=s.duration_s)
    if isinstance(s, SpikeShape):
        return Spike(n, index, duration_s, base_users=s.base_users, spike_users=s.spike_users, at_s=s.at_s,
                     spike_s=s.duration_s, rate=spec.spawn_rate)
    if open_shape(spec) is not None:
        # Open model: one Locust user per process runs that process's arrival schedule.
        return Steady(n, index, duration_s, users=n, rate=float(n))
    raise TypeError(f"unknown shape {s!r}")
