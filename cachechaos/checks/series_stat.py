"""series_stat: a statistic of any per-second series over a phase (e.g. mean Redis ops/s, peak DB q/s)."""

from __future__ import annotations

from typing import Literal

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import mean, percentile, rounded

Stat = Literal["mean", "max", "min", "p95"]


@declares(unit="")
def series_stat(run: RunData, metric: str = "db_qps", stat: Stat = "mean", phase: str | None = None) -> Measurement:
    """`stat` of the series `metric` (a RunData series name) in `phase` (or the whole run)."""
    points = run.series_in(metric, phase) if phase else run.series(metric)
    values = [v for _, v in points]
    details = {"metric": metric, "stat": stat, "phase": phase, "points": len(values),
               "series": [[rounded(t, 3), rounded(v, 3)] for t, v in points]}
    if not values:
        details["reason"] = f"no {metric} points" + (f" in {phase}" if phase else "")
        return Measurement("series_stat", None, metric, details)
    value = {"mean": lambda: mean(values), "max": lambda: max(values), "min": lambda: min(values),
             "p95": lambda: percentile(sorted(values), 95)}[stat]()
    return Measurement("series_stat", value, metric, details)
