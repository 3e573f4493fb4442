"""Changing an open model's arrival rate while it runs (a game day's `traffic set --rate`).

The simplest mechanism that keeps the schedule a function of the record: the driver appends
steps (`at_s` seconds after the load's start, the new total rate) to a small JSON file in the
run directory, always a little in the future (LEAD_S); each load process re-reads the file when
it changes (looked at every POLL_S at most) and, from `at_s` on, draws its arrivals from a fresh
generator of segment `i` (seeded from the process seed and `i`) at the new rate. Segment 0 is the
spec's own shape with the process's usual generator, so a run without steps is drawn exactly as
before. Poisson arrivals are memoryless, so a fresh generator at `at_s` is the same process at
the new rate.

`stepped_offsets` draws the same arrivals again from the final file: `traffic.fidelity` compares
what was sent with what was due, changes included. A game day's stop appends a step to rate 0,
so what is due ends when the load did.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cachechaos.store.files import write_text_atomically
from cachechaos.traffic.arrivals import arrival_offsets, schedule_rng
from cachechaos.traffic.spec import ArrivalShape, OpenShape

RATES_FILE = "rates.json"
POLL_S = 0.2   # how often a load process looks at the file: a change is picked up well within LEAD_S
LEAD_S = 0.5   # a step takes effect this long after it is written, so every process has it in time


@dataclass(frozen=True)
class RateStep:
    at_s: float        # seconds after the load's start
    rate_per_s: float  # arrivals per second over all processes (0: none)


def read_steps(path: Path) -> list[RateStep]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [RateStep(float(s["at_s"]), float(s["rate_per_s"])) for s in data.get("steps", [])]


def append_step(path: Path, at_s: float, rate_per_s: float) -> RateStep:
    """Add a step (never before the last one) and return it."""
    if rate_per_s < 0:
        raise ValueError(f"a rate is never negative, not {rate_per_s}")
    steps = read_steps(path)
    at_s = max([at_s] + [s.at_s for s in steps])
    step = RateStep(at_s, rate_per_s)
    steps.append(step)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps({"steps": [{"at_s": s.at_s, "rate_per_s": s.rate_per_s} for s in steps]}))
    return step


def _segment(shape: OpenShape, processes: int, seed: int, index: int, steps: list[RateStep],
             duration_s: float) -> Iterator[float]:
    """Arrivals of segment `index` from its start to duration_s (the caller cuts it at the next step)."""
    if index == 0:
        yield from arrival_offsets(shape, processes, duration_s, schedule_rng(seed))
        return
    step = steps[index - 1]
    if step.rate_per_s <= 0 or step.at_s >= duration_s:
        return
    constant = ArrivalShape(kind="arrival", rate_per_s=step.rate_per_s, spacing=shape.spacing,
                            max_in_flight=shape.max_in_flight)
    rng = random.Random(f"{seed}:schedule:{index}")
    for t in arrival_offsets(constant, processes, duration_s - step.at_s, rng):
        yield step.at_s + t


def stepped_offsets(shape: OpenShape, processes: int, duration_s: float, seed: int,
                    steps: list[RateStep]) -> Iterator[float]:
    """This process's arrivals with every step known: the schedule a fidelity check compares with."""
    for index in range(len(steps) + 1):
        end = steps[index].at_s if index < len(steps) else duration_s
        for offset in _segment(shape, processes, seed, index, steps, duration_s):
            if offset >= end:
                break
            yield offset


class StepsFile:
    """A load process's view of the steps file: re-read when it changed, looked at every POLL_S at most."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._next_look = 0.0
        self._mtime: int | None = None
        self.steps: list[RateStep] = []

    def current(self) -> list[RateStep]:
        now = self.clock()
        if now >= self._next_look:
            self._next_look = now + POLL_S
            try:
                mtime = os.stat(self.path).st_mtime_ns
            except OSError:
                mtime = None
            if mtime != self._mtime:
                self._mtime = mtime
                self.steps = read_steps(self.path)
        return self.steps


def live_offsets(shape: OpenShape, processes: int, duration_s: float, seed: int, steps: Callable[[], list[RateStep]],
                 elapsed: Callable[[], float], wait: Callable[[float], None]) -> Iterator[float]:
    """The arrivals of `stepped_offsets` while the steps are still being written: an arrival is yielded
    at most POLL_S before it is due, after waiting in POLL_S slices for a step that would cut it off."""
    index = 0
    while True:
        for offset in _segment(shape, processes, seed, index, steps(), duration_s):
            while True:
                known = steps()
                end = known[index].at_s if index < len(known) else duration_s
                if offset >= end or offset - elapsed() <= POLL_S:
                    break
                wait(POLL_S)
            if offset >= end:
                break
            yield offset
        while len(steps()) <= index and elapsed() < duration_s:
            wait(POLL_S)  # no arrival left in this segment (rate 0, or the end): only a step starts more
        if len(steps()) <= index:
            return
        index += 1
