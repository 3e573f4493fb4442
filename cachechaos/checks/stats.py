"""Small statistics shared by the checks: one percentile definition, so every report agrees."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def percentile(sorted_values: Sequence[float] | NDArray[np.float64], p: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence (p in 0..100); None when empty.

    Nearest rank returns an observed value, so "p99 = 412 ms" is a latency a client really saw.
    """
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    rank = max(1, math.ceil(p / 100.0 * n))
    return float(sorted_values[rank - 1])


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def summary(values: Sequence[float] | NDArray[np.float64], percentiles: Sequence[float] = (50, 95, 99),
            ascending: bool = False) -> dict[str, Any]:
    """count, max and the given percentiles (keys p50, p95, ...) of values (`ascending`: already sorted)."""
    ordered = np.asarray(values, dtype=np.float64)
    if not ascending:
        ordered = np.sort(ordered)
    out: dict[str, Any] = {"count": len(ordered), "max": float(ordered[-1]) if len(ordered) else None}
    for p in percentiles:
        out[f"p{p:g}"] = percentile(ordered, p)
    return out


def histogram(values: Sequence[float] | NDArray[np.float64], edges: Sequence[float]) -> list[dict[str, Any]]:
    """Counts per [lo, hi) bin; the last bin is open-ended (hi None); values below the first edge count in the first."""
    bins = np.maximum(np.searchsorted(np.asarray(edges, dtype=np.float64), np.asarray(values, dtype=np.float64),
                                      side="right") - 1, 0)
    counts = np.bincount(bins, minlength=len(edges)).tolist()
    his: list[float | None] = [*edges[1:], None]
    return [{"lo": lo, "hi": hi, "count": c} for lo, hi, c in zip(edges, his, counts, strict=True)]


def rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def byte_counts(values: NDArray[np.uint8], block: int = 1 << 22) -> NDArray[np.int64]:
    """How many times each of the 256 byte values occurs. np.bincount casts its input to intp, eight
    bytes a value: counted in blocks, that copy stays small on a column of tens of millions."""
    counts = np.zeros(256, dtype=np.int64)
    for lo in range(0, len(values), block):
        counts += np.bincount(values[lo:lo + block], minlength=256)
    return counts
