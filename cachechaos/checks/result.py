"""What a check returns (one headline figure plus JSON-serialisable details), and what a check declares about itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

# A series_stat's unit is the series it reads (db_qps, l1_hit_rate, ...): declared as "".
UNITS = ("ratio", "s", "ms", "x", "count", "req/s", "")


@dataclass
class Measurement:
    check: str                 # e.g. "stale_read_rate"
    value: float | None        # headline figure; None = not measurable / never happened (e.g. never recovered)
    unit: str                  # "ratio" | "s" | "ms" | "x" | "count"
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable extras

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckInfo:
    """What the rest of the toolkit knows of a check, declared once beside it (`@declares`)."""

    name: str
    unit: str  # of its headline figure; a verdict of a check that raised still shows it


F = TypeVar("F", bound=Callable[..., Measurement])
_DECLARED: dict[Callable[..., Measurement], CheckInfo] = {}


def declares(unit: str) -> Callable[[F], F]:
    """Decorates a check with its metadata; the registry reads it back with `declared`."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; units: {UNITS}")

    def declare(fn: F) -> F:
        _DECLARED[fn] = CheckInfo(fn.__name__, unit)
        return fn

    return declare


def declared(fn: Callable[..., Measurement]) -> CheckInfo:
    try:
        return _DECLARED[fn]
    except KeyError:
        raise LookupError(f"check {fn.__name__} declares no metadata (@declares)") from None
