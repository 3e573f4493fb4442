"""Pure logic of the toxics and addresses, checked with generated data."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cachechaos.proxy.addresses import join_address, split_address
from cachechaos.proxy.toxics import TOXIC_TYPES, parse_attributes
from cachechaos.proxy.toxics.bandwidth import slice_sizes, transfer_seconds
from cachechaos.proxy.toxics.base import INT64_MAX
from cachechaos.proxy.toxics.latency import latency_delay_ms
from cachechaos.proxy.toxics.slicer import slice_bounds

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)


@given(size=st.integers(0, 200_000), average=st.integers(0, 5_000),
       variation=st.integers(0, 5_000), seed=st.integers())
@settings(max_examples=300, deadline=None)
def test_slice_bounds_cover_the_chunk_in_order(size: int, average: int, variation: int,
                                               seed: int) -> None:
    bounds = slice_bounds(size, average, variation, random.Random(seed))
    assert bounds[0] == 0
    assert bounds[-1] == size
    assert all(a < b for a, b in itertools.pairwise(bounds)) or size == 0
    if size > 0:
        sizes = [b - a for a, b in itertools.pairwise(bounds)]
        avg = max(1, average)
        # No slice is larger than the average plus the allowed variation.
        assert max(sizes) <= avg + min(variation, avg - 1) or len(sizes) == 1


@given(size=st.integers(1, 100_000), average=st.integers(1, 1_000))
@settings(max_examples=200, deadline=None)
def test_slice_bounds_without_variation_are_near_average(size: int, average: int) -> None:
    bounds = slice_bounds(size, average, 0, random.Random(1))
    sizes = [b - a for a, b in itertools.pairwise(bounds)]
    assert sum(sizes) == size
    if size > average:
        # Halving stops once a piece is at most `average`, so pieces are > average/2.
        assert min(sizes) * 2 >= average - 1
        assert max(sizes) <= average


@given(nbytes=st.integers(1, 10_000_000), rate=st.integers(1, 1_000_000))
def test_bandwidth_slices_sum_up_and_respect_the_rate(nbytes: int, rate: int) -> None:
    sizes = slice_sizes(nbytes, rate)
    assert sum(sizes) == nbytes
    assert all(0 < s <= rate * 100 for s in sizes)
    # Every full slice takes exactly the 100 ms it is released after.
    assert transfer_seconds(rate * 100, rate) == pytest.approx(0.1)
    assert transfer_seconds(nbytes, rate) == pytest.approx(nbytes / (rate * 1000))


@given(latency=st.integers(0, 10_000), jitter=st.integers(0, 1_000), seed=st.integers())
def test_latency_delay_stays_within_jitter(latency: int, jitter: int, seed: int) -> None:
    delay = latency_delay_ms(latency, jitter, random.Random(seed))
    assert latency - jitter <= delay <= latency + jitter


@given(type_name=st.sampled_from(sorted(TOXIC_TYPES)),
       raw=st.dictionaries(st.text(max_size=15), json_scalars, max_size=6))
@settings(max_examples=300)
def test_parse_attributes_accepts_only_non_negative_ints(type_name: str, raw: dict) -> None:
    defaults = TOXIC_TYPES[type_name].defaults
    relevant = {k: v for k, v in raw.items() if k in defaults and v is not None}
    valid = all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64_MAX
        for v in relevant.values()
    )
    if valid:
        parsed = parse_attributes(defaults, raw)
        assert set(parsed) == set(defaults)
        assert parsed == {**defaults, **relevant}
    else:
        with pytest.raises(ValueError):
            parse_attributes(defaults, raw)


@given(base=st.fixed_dictionaries({"latency": st.integers(0, 100), "jitter": st.integers(0, 9)}),
       jitter=st.integers(0, 50))
def test_parse_attributes_merges_onto_current_values(base: dict[str, int], jitter: int) -> None:
    merged = parse_attributes(TOXIC_TYPES["latency"].defaults, {"jitter": jitter}, base)
    assert merged == {"latency": base["latency"], "jitter": jitter}


@pytest.mark.parametrize("raw", [[], "x", 3, True])
def test_parse_attributes_rejects_non_objects(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_attributes({"latency": 0}, raw)


@given(host=st.sampled_from(["127.0.0.1", "localhost", "::1", "", "example.com"]),
       port=st.integers(0, 65535))
def test_addresses_round_trip(host: str, port: int) -> None:
    assert split_address(join_address(host, port)) == (host, port)


@pytest.mark.parametrize("bad", ["", "nohost", "h:", "h:x", "h:65536", "h:-1", "h:123456"])
def test_bad_addresses_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        split_address(bad)
