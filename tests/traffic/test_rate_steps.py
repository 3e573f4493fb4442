"""Live rate changes of an open model (pure): the schedule a process follows while steps are written
is the one the fidelity check draws again from the final steps file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.traffic.arrivals import arrival_offsets, schedule_rng
from cachechaos.traffic.rate_steps import (
    LEAD_S,
    RateStep,
    StepsFile,
    append_step,
    live_offsets,
    read_steps,
    stepped_offsets,
)
from cachechaos.traffic.spec import ArrivalShape, TrafficSpec


def _shape(rate: float, spacing: str = "poisson") -> ArrivalShape:
    shape = TrafficSpec.model_validate({"shape": {"kind": "arrival", "rate_per_s": rate, "spacing": spacing}}).shape
    assert isinstance(shape, ArrivalShape)
    return shape


class Clock:
    """Time that moves only when the schedule's consumer sleeps: as a load process sees it, without the waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def wait(self, seconds: float) -> None:
        self.t += seconds


def _follow(shape: ArrivalShape, duration: float, seed: int, written: list[tuple[float, RateStep]]) -> list[float]:
    """The live schedule, with each step appearing at its write time, and the consumer sleeping until each arrival."""
    clock = Clock()
    pending = list(written)
    known: list[RateStep] = []

    def steps() -> list[RateStep]:
        while pending and pending[0][0] <= clock.t:
            known.append(pending.pop(0)[1])
        return list(known)

    out = []
    for offset in live_offsets(shape, 2, duration, seed, steps, lambda: clock.t, clock.wait):
        clock.t = max(clock.t, offset)  # the process sleeps until the arrival is due
        out.append(offset)
    return out


@pytest.mark.parametrize("spacing", ["poisson", "uniform"])
def test_without_steps_the_schedule_is_the_specs(spacing: str) -> None:
    shape = _shape(200, spacing)
    assert list(stepped_offsets(shape, 2, 20.0, 7, [])) == list(arrival_offsets(shape, 2, 20.0, schedule_rng(7)))
    assert _follow(shape, 20.0, 7, []) == list(arrival_offsets(shape, 2, 20.0, schedule_rng(7)))


@pytest.mark.parametrize("spacing", ["poisson", "uniform"])
def test_steps_written_ahead_are_followed_exactly(spacing: str) -> None:
    shape = _shape(100, spacing)
    steps = [RateStep(10.0, 400.0), RateStep(20.0, 0.0), RateStep(25.0, 50.0)]
    # Each written LEAD_S before it takes effect, as a game day writes it.
    followed = _follow(shape, 40.0, 3, [(s.at_s - LEAD_S, s) for s in steps])
    redrawn = list(stepped_offsets(shape, 2, 40.0, 3, steps))
    assert followed == redrawn
    per_process = {name: sum(1 for t in redrawn if lo <= t < hi)
                   for name, (lo, hi) in {"100": (0, 10), "400": (10, 20), "0": (20, 25), "50": (25, 40)}.items()}
    # Half of each total rate per process: 50/s for 10 s, 200/s for 10 s, nothing, 25/s for 15 s.
    assert 400 < per_process["100"] < 600
    assert 1_700 < per_process["400"] < 2_300
    assert per_process["0"] == 0
    assert 270 < per_process["50"] < 480


def test_a_rate_of_zero_to_the_end_stops_the_schedule() -> None:
    shape = _shape(100)
    followed = _follow(shape, 3600.0, 1, [(4.5, RateStep(5.0, 0.0))])
    assert followed and max(followed) < 5.0


def test_steps_file_round_trip_and_order(tmp_path: Path) -> None:
    path = tmp_path / "load" / "rates.json"
    assert read_steps(path) == []
    append_step(path, 5.0, 300.0)
    late = append_step(path, 3.0, 10.0)  # never before the last step
    assert late.at_s == 5.0
    assert read_steps(path) == [RateStep(5.0, 300.0), RateStep(5.0, 10.0)]
    with pytest.raises(ValueError, match="negative"):
        append_step(path, 9.0, -1.0)
    clock = Clock()
    view = StepsFile(path, lambda: clock.t)
    assert len(view.current()) == 2
    append_step(path, 8.0, 20.0)
    assert len(view.current()) == 2  # looked at POLL_S ago: not again yet
    clock.wait(1.0)
    assert view.current()[-1] == RateStep(8.0, 20.0)
