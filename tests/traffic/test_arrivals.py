"""The open-model arrival schedule (pure): rates, spacing, phases and independence from responses."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from cachechaos.traffic.arrivals import arrival_offsets, schedule_rng, total_rate
from cachechaos.traffic.spec import ArrivalRampShape, ArrivalShape, ArrivalSpikeShape, TrafficSpec


def _shape(**shape: object) -> ArrivalShape | ArrivalRampShape | ArrivalSpikeShape:
    spec = TrafficSpec.model_validate({"shape": shape})
    assert isinstance(spec.shape, ArrivalShape | ArrivalRampShape | ArrivalSpikeShape)
    return spec.shape


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_poisson_arrivals_have_the_rate_and_exponential_gaps() -> None:
    shape = _shape(kind="arrival", rate_per_s=300)
    times = list(arrival_offsets(shape, 2, 60.0, random.Random(1)))
    # 150/s per process over 60 s: 9,000 expected, sd 95.
    assert 9_000 - 400 < len(times) < 9_000 + 400
    assert times == sorted(times) and times[0] >= 0 and times[-1] < 60
    gaps = _gaps(times)
    cv = statistics.pstdev(gaps) / statistics.fmean(gaps)
    assert 0.95 < cv < 1.05  # exponential gaps: coefficient of variation 1


def test_poisson_arrivals_are_not_bunched_within_a_second() -> None:
    times = list(arrival_offsets(_shape(kind="arrival", rate_per_s=300), 2, 30.0, random.Random(7)))
    per_second: dict[int, list[int]] = {}
    for t in times:
        per_second.setdefault(int(t), [0] * 20)[int((t % 1) * 20)] += 1
    for slices in per_second.values():
        assert max(slices) <= 0.15 * sum(slices)


def test_uniform_spacing_is_even_with_a_random_phase_per_process() -> None:
    shape = _shape(kind="arrival", rate_per_s=100, spacing="uniform")
    first = list(arrival_offsets(shape, 2, 10.0, schedule_rng(42_000)))
    second = list(arrival_offsets(shape, 2, 10.0, schedule_rng(42_001)))
    assert len(first) in (499, 500) and len(second) in (499, 500)
    assert max(_gaps(first)) - min(_gaps(first)) < 1e-9
    assert first[0] < 0.02 and second[0] < 0.02
    assert abs(first[0] - second[0]) > 1e-4  # processes do not fire in step


def test_the_schedule_is_a_function_of_the_seed_alone() -> None:
    shape = _shape(kind="arrival", rate_per_s=50)
    assert list(arrival_offsets(shape, 1, 5, schedule_rng(3))) == list(arrival_offsets(shape, 1, 5, schedule_rng(3)))
    assert list(arrival_offsets(shape, 1, 5, schedule_rng(3))) != list(arrival_offsets(shape, 1, 5, schedule_rng(4)))


@pytest.mark.parametrize("spacing", ["poisson", "uniform"])
def test_a_ramp_follows_its_rate(spacing: str) -> None:
    shape = _shape(kind="arrival_ramp", start_rate_per_s=0, end_rate_per_s=400, duration_s=10, spacing=spacing)
    times = list(arrival_offsets(shape, 1, 20.0, random.Random(5)))
    first_half = sum(1 for t in times if t < 5)
    second_half = sum(1 for t in times if 5 <= t < 10)
    held = sum(1 for t in times if t >= 10)
    assert abs(first_half - 500) < 100       # the rate's integral over 0..5 s: 0.5 * 200/s * 5 s
    assert abs(second_half - 1_500) < 150   # over 5..10 s: (200 + 400) / 2 * 5 s
    assert abs(held - 4_000) < 250
    assert total_rate(shape, 2.5) == pytest.approx(100)


def test_a_spike_starts_and_ends_on_time() -> None:
    shape = _shape(kind="arrival_spike", base_rate_per_s=50, spike_rate_per_s=1_000, at_s=4, duration_s=2)
    times = list(arrival_offsets(shape, 1, 10.0, random.Random(9)))
    during = sum(1 for t in times if 4 <= t < 6)
    before = sum(1 for t in times if t < 4)
    assert 2_000 - 200 < during < 2_000 + 200
    assert 200 - 60 < before < 200 + 60


def test_rate_split_over_processes_adds_up() -> None:
    shape = _shape(kind="arrival", rate_per_s=200, spacing="uniform")
    counts = [len(list(arrival_offsets(shape, 4, 10.0, schedule_rng(i)))) for i in range(4)]
    assert sum(counts) in range(1_996, 2_001)
