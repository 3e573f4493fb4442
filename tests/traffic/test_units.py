"""Zipf sampling, the spec schema, live stats aggregation."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from cachechaos.traffic.loadstats import aggregate, histogram_delta, percentile
from cachechaos.traffic.spec import ArrivalShape, Mix, SteadyShape, TrafficSpec
from cachechaos.traffic.zipf import Zipf


def test_zipf_head_matches_the_distribution() -> None:
    z = Zipf(2_000, 1.1)
    rng = random.Random(1)
    n = 100_000
    counts = Counter(z.sample(rng) for _ in range(n))
    assert min(counts) >= 1 and max(counts) <= 2_000
    for k in (1, 2, 10):
        assert abs(counts[k] / n - z.probability(k)) < 0.01
    assert counts[1] > 50 * max(1, counts[1_000])


def test_zipf_uniform_and_huge_catalogues() -> None:
    rng = random.Random(2)
    uniform = Counter(Zipf(10, 0.0).sample(rng) for _ in range(20_000))
    assert set(uniform) == set(range(1, 11)) and max(uniform.values()) < 2_300
    big = Zipf(5_000_000, 1.0)  # the tail beyond EXACT_RANKS is continuous
    draws = [big.sample(rng) for _ in range(20_000)]
    assert all(1 <= d <= 5_000_000 for d in draws)
    tail = sum(d > 131_072 for d in draws) / len(draws)
    expected = 1 - sum(big.probability(k) for k in range(1, 131_073))
    assert abs(tail - expected) < 0.02
    assert Zipf(1, 1.1).sample(rng) == 1


def test_every_spec_field_is_described() -> None:
    schema = TrafficSpec.model_json_schema()

    def check(props: dict[str, dict[str, object]], where: str) -> None:
        for name, prop in props.items():
            if name != "kind":
                assert prop.get("description"), f"{where}.{name} has no description"

    check(schema["properties"], "traffic")
    for name, sub in schema["$defs"].items():
        check(sub.get("properties", {}), name)


def test_spec_defaults_and_validation() -> None:
    spec = TrafficSpec()
    assert isinstance(spec.shape, SteadyShape)
    assert spec.processes >= 1 and spec.zipf_s == 1.1 and spec.hot_share == 0.0 and spec.request_timeout_s == 2.0
    weights = spec.mix.weights()
    assert max(weights, key=lambda k: weights[k]) == "browse"
    spec = TrafficSpec.model_validate({"shape": {"kind": "arrival", "rate_per_s": 500}})
    assert isinstance(spec.shape, ArrivalShape)
    with pytest.raises(ValidationError):
        TrafficSpec.model_validate({"shape": {"kind": "square"}})
    with pytest.raises(ValidationError):
        TrafficSpec.model_validate({"userz": 3})
    with pytest.raises(ValidationError):
        Mix.model_validate({k: 0 for k in Mix.model_fields})


def test_histogram_percentiles() -> None:
    assert percentile({}, 0.5) == 0.0
    hist = {1: 50, 2: 40, 100: 10}
    assert percentile(hist, 0.5) == 1 and percentile(hist, 0.9) == 2 and percentile(hist, 0.99) == 100
    assert histogram_delta({1: 5, 2: 3}, {1: 5, 2: 1}) == {2: 2}


def test_aggregate_merges_windows_and_skips_stale_rates() -> None:
    now = 1000.0
    docs = [
        {"t": now - 0.5, "requests": 100, "errors": 1, "rps": 50, "users": 5, "by_route": {"GET /a": 100},
         "window": {"1": 90, "10": 10}},
        {"t": now - 0.2, "requests": 10, "errors": 0, "rps": 5, "users": 5, "by_route": {"GET /a": 7, "PUT /a": 3},
         "window": {"100": 10}},
        {"t": now - 60, "requests": 5, "errors": 5, "rps": 99, "users": 9, "by_route": {}, "window": {"1000": 100}},
        {},
    ]
    stats = aggregate(docs, now)
    assert (stats.requests, stats.errors, stats.rps, stats.users, stats.processes) == (115, 6, 55, 10, 3)
    assert stats.by_route == {"GET /a": 107, "PUT /a": 3}
    assert stats.p50_ms == 1 and stats.p99_ms == 100


def test_a_seeded_zipf_maps_ranks_to_a_permutation_of_ids() -> None:
    z = Zipf(5_000, 0.9, seed=42)
    ids = [z.id_of(k) for k in range(1, 5_001)]
    assert sorted(ids) == list(range(1, 5_001))  # a bijection
    assert ids[:10] != list(range(1, 11))  # the hot set is not the lowest ids
    assert [Zipf(5_000, 0.9, seed=42).id_of(k) for k in range(1, 11)] == ids[:10]  # same seed, same popularity
    assert [Zipf(5_000, 0.9, seed=7).id_of(k) for k in range(1, 11)] != ids[:10]
    rng = random.Random(3)
    counts = Counter(z.sample(rng) for _ in range(50_000))
    assert counts.most_common(1)[0][0] == z.id_of(1)
