"""What a check returns: one headline figure plus JSON-serialisable details."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNITS = ("ratio", "s", "ms", "x", "count")


@dataclass
class Measurement:
    check: str                 # e.g. "stale_read_rate"
    value: float | None        # headline figure; None = not measurable / never happened (e.g. never recovered)
    unit: str                  # "ratio" | "s" | "ms" | "x" | "count"
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable extras

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
