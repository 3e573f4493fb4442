"""Open-model arrival times: when requests are due, independent of when responses come back.

wrk2's constant throughput and k6's `constant-arrival-rate` executor are the
model: the schedule is fixed before the run, a slow response never delays the
next arrival, and latency is measured from each arrival's intended time, so a
stall is charged to every request it held up (no coordinated omission).

The total rate is split evenly over the load processes; each process draws its
own arrivals from its own seeded generator. Poisson arrivals (exponential gaps)
of independent processes add up to a Poisson process of the total rate;
evenly spaced arrivals start at a random phase per process, so processes never
fire in step. Varying rates (ramps, spikes) are drawn by thinning: candidates
at the peak rate, each kept with probability rate(t) / peak.

Pure functions of the spec and a random.Random: no Locust, no gevent, so the
schedule is unit-tested as it is.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from cachechaos.traffic.spec import ArrivalRampShape, ArrivalShape, ArrivalSpikeShape, OpenShape, TrafficSpec

# Step over which a varying rate is taken as constant when arrivals are evenly spaced.
_INTEGRAL_STEP_S = 0.01


def open_shape(spec: TrafficSpec) -> OpenShape | None:
    """The spec's open-model shape, or None for a closed model (users)."""
    shape = spec.shape
    return shape if isinstance(shape, ArrivalShape | ArrivalRampShape | ArrivalSpikeShape) else None


def total_rate(shape: OpenShape, t: float) -> float:
    """Arrivals per second over all processes, t seconds after the start."""
    if isinstance(shape, ArrivalShape):
        return shape.rate_per_s
    if isinstance(shape, ArrivalRampShape):
        frac = min(max(t / shape.duration_s, 0.0), 1.0)
        return shape.start_rate_per_s + (shape.end_rate_per_s - shape.start_rate_per_s) * frac
    if shape.at_s <= t < shape.at_s + shape.duration_s:
        return shape.spike_rate_per_s
    return shape.base_rate_per_s


def peak_rate(shape: OpenShape) -> float:
    if isinstance(shape, ArrivalShape):
        return shape.rate_per_s
    if isinstance(shape, ArrivalRampShape):
        return max(shape.start_rate_per_s, shape.end_rate_per_s)
    return max(shape.base_rate_per_s, shape.spike_rate_per_s)


def schedule_rng(process_seed: int) -> random.Random:
    """The generator of one process's arrival times: separate from every other draw of the process, so the
    schedule can be drawn again after the run (traffic/fidelity.py) and compared with what was sent."""
    return random.Random(f"{process_seed}:schedule")


def arrival_offsets(shape: OpenShape, processes: int, duration_s: float, rng: random.Random) -> Iterator[float]:
    """This process's arrival times, in seconds after the run's start, ascending, all below duration_s."""
    share = 1.0 / processes
    peak = peak_rate(shape) * share
    if peak <= 0:
        return
    if shape.spacing == "uniform":
        yield from _uniform(shape, share, duration_s, rng)
        return
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= duration_s:
            return
        if rng.random() * peak < total_rate(shape, t) * share:
            yield t


def _uniform(shape: OpenShape, share: float, duration_s: float, rng: random.Random) -> Iterator[float]:
    """Arrival k where the integrated rate reaches k + phase: evenly spaced at any rate, ramps included."""
    phase = rng.random()  # a random phase: processes (and runs with other seeds) never align
    if isinstance(shape, ArrivalShape):
        gap = 1.0 / (shape.rate_per_s * share)
        k = 0
        while (t := (k + phase) * gap) < duration_s:
            yield t
            k += 1
        return
    # `ahead`: integrated rate still to go, from the start of the current step, until the next arrival.
    ahead, t, step = phase, 0.0, _INTEGRAL_STEP_S
    while t < duration_s:
        rate = total_rate(shape, t + step / 2) * share  # constant within a step (exact for a spike)
        mass = rate * step
        while ahead < mass:
            at = t + ahead / rate
            if at >= duration_s:
                return
            yield at
            ahead += 1.0
        ahead -= mass
        t += step
