"""The memory_pressure fault's arithmetic, on recorded figures."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cachechaos.faults.redis_faults import MemoryPressureParams, pressure_limit

# Recorded at inject in an eviction-policy run: 6.1 MB used, 452 cached products of ~5.2 kB each.
USED, KEYS, KEY_BYTES = 6_140_800, 452, 5_176.0


def test_keep_keys_takes_away_the_keys_that_should_no_longer_fit() -> None:
    params = MemoryPressureParams(keep_keys=300, headroom_kb=100)
    assert pressure_limit(USED, KEYS, KEY_BYTES, params) == USED - 152 * 5_176 + 102_400


def test_keep_fraction_is_the_default_and_never_asks_for_more_than_is_there() -> None:
    assert pressure_limit(USED, KEYS, KEY_BYTES, MemoryPressureParams(headroom_kb=0)) == USED - 339 * 5_176
    # More keys asked for than there are: the limit stays at what is used now.
    assert pressure_limit(USED, 10, KEY_BYTES, MemoryPressureParams(keep_keys=50, headroom_kb=0)) == USED


def test_keep_fraction_and_keep_keys_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="not both"):
        MemoryPressureParams(keep_fraction=0.5, keep_keys=10)
