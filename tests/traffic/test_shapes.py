"""Load shapes: tick() over time, pure (no Locust in the test process)."""

from __future__ import annotations

import itertools
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from cachechaos.traffic.shapes import (
    Ramp,
    Spike,
    Steady,
    process_shape,
    share,
)
from cachechaos.traffic.spec import TrafficSpec

times = st.floats(min_value=0, max_value=600, allow_nan=False)


@given(total=st.integers(0, 10_000), processes=st.integers(1, 64))
def test_shares_sum_to_total_and_differ_by_at_most_one(total: int, processes: int) -> None:
    parts = [share(total, processes, i) for i in range(processes)]
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1


@given(users=st.integers(0, 5_000), processes=st.integers(1, 8), duration=st.floats(1, 300), t=times)
def test_steady_is_constant_until_the_end(users: int, processes: int, duration: float, t: float) -> None:
    ticks = [Steady(processes, i, duration, users=users, rate=10).tick(t) for i in range(processes)]
    if t >= duration:
        assert ticks == [None] * processes
    else:
        assert sum(tick[0] for tick in ticks if tick) == users


@settings(max_examples=200)
@given(start=st.integers(0, 2_000), end=st.integers(0, 2_000), ramp_s=st.floats(0.5, 120),
       duration=st.floats(1, 300), processes=st.integers(1, 4))
def test_ramp_is_monotone_reaches_its_end_and_spawns_each_step_within_a_tick(
    start: int, end: int, ramp_s: float, duration: float, processes: int
) -> None:
    shapes = [Ramp(processes, i, duration, start_users=start, end_users=end, ramp_s=ramp_s) for i in range(processes)]
    grid = [k * 0.5 for k in range(int(duration * 2) + 1)]
    totals: list[int] = []
    for t in grid:
        ticks = [s.tick(t) for s in shapes]
        if t >= duration:
            assert all(tick is None for tick in ticks)
            continue
        assert all(tick is not None for tick in ticks)
        totals.append(sum(tick[0] for tick in ticks if tick))
        for tick in ticks:
            assert tick is not None
            # One second of the ramp is at most one tick's worth of spawning.
            per_second = abs(end - start) / ramp_s / processes
            assert tick[1] >= per_second
    assert totals[0] == start
    pairs = list(itertools.pairwise(totals))
    assert all(b >= a for a, b in pairs) if end >= start else all(b <= a for a, b in pairs)
    if duration > ramp_s + 0.5:
        assert totals[-1] == end


@given(base=st.integers(0, 500), spike=st.integers(0, 5_000), at=st.floats(0, 100), length=st.floats(0.5, 100),
       t=times, processes=st.integers(1, 4))
def test_spike_is_base_outside_and_spike_inside(base: int, spike: int, at: float, length: float, t: float,
                                                processes: int) -> None:
    duration = 601.0  # beyond every generated t
    ticks = [Spike(processes, i, duration, base_users=base, spike_users=spike, at_s=at, spike_s=length, rate=5)
             for i in range(processes)]
    total = sum(s.tick(t)[0] for s in ticks)  # type: ignore[index]
    assert total == (spike if at <= t < at + length else base)
    # Reached within one tick, whatever spawn_rate says.
    assert sum(s.tick(t)[1] for s in ticks) >= min(abs(spike - base), 5) - 1e-9  # type: ignore[index]


def test_shapes_from_the_spec() -> None:
    spec = TrafficSpec.model_validate({"users": 10, "processes": 2,
                                       "shape": {"kind": "ramp", "start_users": 0, "end_users": 100, "duration_s": 10}})
    shape = process_shape(spec, 1, 30)
    assert [shape.tick(t) and shape.tick(t)[0] for t in (0, 5, 10, 29.9, 30)] == [0, 25, 50, 50, None]  # type: ignore[index]
    spec = TrafficSpec.model_validate({"processes": 1, "shape": {"kind": "spike", "base_users": 4, "spike_users": 40,
                                                                 "at_s": 3, "duration_s": 2}})
    shape = process_shape(spec, 0, 10)
    assert [shape.tick(t)[0] for t in range(10)] == [4, 4, 4, 40, 40, 4, 4, 4, 4, 4]  # type: ignore[index]
    spec = TrafficSpec.model_validate({"users": 3, "processes": 1})
    assert process_shape(spec, 0, 5).tick(1) == (3, 100.0)


@given(rate=st.floats(1, 100_000), processes=st.integers(1, 8))
def test_open_model_runs_one_scheduler_user_per_process(rate: float, processes: int) -> None:
    spec = TrafficSpec.model_validate({"users": 7, "processes": processes,
                                       "shape": {"kind": "arrival", "rate_per_s": rate}})
    assert [process_shape(spec, i, 60).tick(1) for i in range(processes)] == [(1, 1.0)] * processes


def test_locust_adapter_ticks_the_shared_timeline() -> None:
    """The LoadTestShape adapter (run in a child: importing Locust monkey-patches the interpreter)."""
    code = (
        "from cachechaos.history.clock import now\n"
        "from cachechaos.traffic.locust_shapes import RampLoadShape\n"
        "from cachechaos.traffic.shapes import Ramp\n"
        "shape = RampLoadShape(Ramp(1, 0, 100, start_users=0, end_users=100, ramp_s=10), now() - 5)\n"
        "print(shape.tick())\n"
        "shape = RampLoadShape(Ramp(1, 0, 100, start_users=0, end_users=100, ramp_s=10), now() - 100)\n"
        "print(shape.tick())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    first, second = out.stdout.splitlines()
    assert first == "(50, 21.0)"
    assert second == "None"
