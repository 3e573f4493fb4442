"""db_amplification: how many times the baseline load PostgreSQL took at the worst second of a phase."""

from __future__ import annotations

from typing import Literal

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import mean, rounded


@declares(unit="x")
def db_amplification(run: RunData, phase: str = "fault", baseline_phase: str = "baseline",
                     source: Literal["postgres", "backend"] = "postgres", floor_qps: float = 0.0) -> Measurement:
    """Peak per-second DB queries in `phase` (a phase name or fault id) / their mean in `baseline_phase`,
    the mean taken as at least `floor_qps`.

    source "postgres" counts transactions at PostgreSQL (pg_stat_database, independent of the
    system under test, but flushed by PostgreSQL about once a second, which smears a short burst
    over two samples); "backend" counts the backends' own db_queries_total (exact to the second).
    """
    name = "db_qps" if source == "postgres" else "backend_db_qps"
    series = run.series(name)
    in_phase = run.series_in(name, phase)
    measured_mean = mean([v for _, v in run.series_in(name, run.phase(baseline_phase))])
    baseline_mean = max(measured_mean, floor_qps) if measured_mean is not None else None
    peak = max(in_phase, key=lambda p: p[1], default=None)
    details = {
        "phase": phase, "baseline_phase": baseline_phase, "source": source, "baseline_mean_qps": measured_mean,
        "floor_qps": floor_qps,
        "peak_qps": peak[1] if peak else None, "peak_at": peak[0] if peak else None,
        "series": [[rounded(t, 3), rounded(v, 3)] for t, v in series],
    }
    if peak is None or not baseline_mean:
        details["reason"] = ("no db_qps samples in the phase" if peak is None
                             else "baseline db_qps is 0: amplification is undefined")
        return Measurement("db_amplification", None, "x", details)
    return Measurement("db_amplification", peak[1] / baseline_mean, "x", details)
