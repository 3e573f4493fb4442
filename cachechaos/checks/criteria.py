"""Criteria: a check, its parameters and a bound, turned into pass/fail verdicts.

In an experiment file:

    criteria:
      - check: stale_read_rate
        window_s: 1          # any other field is a parameter of the check ...
        max: 0.01
      - check: recovery_time
        params: {metric: l2_hit_rate, band: 0.8}   # ... or put them under `params`
        after: flushall
        max: 120
        name: FLUSHALL recovery under 2 min

From Python, pass `params={...}` (extra keyword fields work too, but type checkers do not know them).
After validation the parameters live in `params` only, coerced to the check's annotated types.

`max` and `min` are inclusive (measured <= max, measured >= min); give either or both. A
measurement of None (not measurable, never recovered) fails unless `none_passes: true`. Unknown
checks, unknown parameters and ill-typed values are rejected when the experiment is loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cachechaos.checks.registry import CHECK_INFO, CHECKS, validate_params
from cachechaos.checks.result import Measurement
from cachechaos.checks.rundata import RunData

# The service levels a criterion's bound can stand for (runtime.external_spec.ServiceLevels).
SloName = Literal["p99_ms", "error_rate", "recovery_s", "hit_rate", "db_amplification", "stale_reads", "freshness"]


class Criterion(BaseModel):
    model_config = ConfigDict(extra="allow")

    check: str = Field(description=f"check name: {', '.join(CHECKS)}")
    max: float | None = Field(default=None, description="pass when measured <= max")
    min: float | None = Field(default=None, description="pass when measured >= min")
    name: str | None = Field(default=None, description="shown in reports (default: check and parameters)")
    none_passes: bool = Field(default=False, description="pass when the check measured nothing (value None)")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the check (extra fields are too)")
    slo: SloName | None = Field(
        default=None, description="on a service cachechaos attaches to, `gate` takes this bound from the topology's "
                                  "`slo:` (freshness: the stale-read bound at the window cache.freshness_budget_s)")
    on_attached: dict[str, Any] | None = Field(
        default=None, description="on a service cachechaos attaches to, `gate` judges with these parameters instead "
                                  "(layer: any: a hot key may stay in the service's own in-process layer)")

    @model_validator(mode="after")
    def _valid(self) -> Criterion:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}; checks: {', '.join(sorted(CHECKS))}")
        if self.max is None and self.min is None:
            raise ValueError("a criterion needs a bound: max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        extra = dict(self.model_extra or {})
        both = sorted(set(extra) & set(self.params))
        if both:
            raise ValueError(f"parameter {', '.join(both)} given both as a field and under params")
        self.params = validate_params(self.check, {**self.params, **extra})
        if self.on_attached:
            validate_params(self.check, {**self.params, **self.on_attached})
        for key in extra:  # now held in params only, so a model dump shows each parameter once
            delattr(self, key)
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.check}({args})" if args else self.check

    def threshold(self, unit: str = "") -> str:
        suffix = "" if unit in ("", "ratio") else f" {unit}"
        if self.min is not None and self.max is not None:
            return f"{self.min:g} .. {self.max:g}{suffix}"
        if self.max is not None:
            return f"<= {self.max:g}{suffix}"
        return f">= {self.min:g}{suffix}"

    def passes(self, value: float | None) -> bool:
        if value is None:
            return self.none_passes
        return (self.max is None or value <= self.max) and (self.min is None or value >= self.min)


@dataclass
class Verdict:
    name: str
    check: str
    params: dict[str, Any]
    threshold: str              # e.g. "<= 0.01", "<= 120 s"
    measured: float | None
    unit: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    max: float | None = None    # the bounds again as numbers: the matrix measures margins to them
    min: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_one(run: RunData, criterion: Criterion) -> Verdict:
    """One verdict; a check that raises is a failed verdict with the error, never a crash."""
    try:
        m: Measurement = CHECKS[criterion.check](run, **criterion.params)
    except Exception as exc:  # any failure of a check is reported, not raised
        unit = CHECK_INFO[criterion.check].unit  # no Measurement to read it from: the declared one
        return Verdict(criterion.label, criterion.check, dict(criterion.params), criterion.threshold(unit), None,
                       unit, False, {"error": f"{type(exc).__name__}: {exc}"},
                       criterion.max, criterion.min)
    return Verdict(criterion.label, criterion.check, dict(criterion.params), criterion.threshold(m.unit), m.value,
                   m.unit, criterion.passes(m.value), m.details, criterion.max, criterion.min)


def evaluate(run: RunData, criteria: list[Criterion]) -> list[Verdict]:
    return [evaluate_one(run, c) for c in criteria]
