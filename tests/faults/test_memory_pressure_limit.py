"""The memory_pressure fault's arithmetic, on recorded figures."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cachechaos.faults.redis_faults import MemoryPressureParams, memory_bytes, pressure_limit

# A primary under load in an eviction run: 6.1 MB used, 620 cached products of ~4.4 kB each.
USED, KEYS, KEY_BYTES = 6_147_104, 620, 4_400.0


@pytest.mark.parametrize(("text", "expected"), [(1024, 1024), ("0", 0), ("256kb", 262_144), ("2mb", 2_097_152),
                                                ("1.5MB", 1_572_864), ("1gb", 1 << 30), ("300b", 300)])
def test_memory_bytes_reads_redis_sizes(text: str | int, expected: int) -> None:
    assert memory_bytes(text) == expected


def test_keep_keys_takes_away_the_keys_that_should_no_longer_fit() -> None:
    params = MemoryPressureParams(keep_keys=300, headroom="100kb")
    assert pressure_limit(USED, KEYS, KEY_BYTES, params) == USED - 320 * 4_400 + 102_400


def test_keep_fraction_is_the_default_and_never_asks_for_more_than_is_there() -> None:
    assert MemoryPressureParams().keep_fraction == 0.25
    assert pressure_limit(USED, KEYS, KEY_BYTES, MemoryPressureParams(headroom=0)) == USED - 465 * 4_400
    # More keys asked for than there are: the limit stays at what is used now.
    assert pressure_limit(USED, 10, KEY_BYTES, MemoryPressureParams(keep_keys=50, headroom=0)) == USED


def test_keep_fraction_and_keep_keys_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="not both"):
        MemoryPressureParams(keep_fraction=0.5, keep_keys=10)
