"""db_amplification: how many times the baseline load PostgreSQL took at the worst second of a phase."""

from __future__ import annotations

from cachechaos.checks.result import Measurement
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import mean, rounded


def db_amplification(run: RunData, phase: str = "fault", baseline_phase: str = "baseline") -> Measurement:
    """Peak per-second db_qps in `phase` (a phase name or fault id) / mean db_qps in `baseline_phase`."""
    series = run.series("db_qps")
    in_phase = run.series_in("db_qps", phase)
    baseline_mean = mean([v for _, v in run.series_in("db_qps", run.phase(baseline_phase))])
    peak = max(in_phase, key=lambda p: p[1], default=None)
    details = {
        "phase": phase, "baseline_phase": baseline_phase, "baseline_mean_qps": baseline_mean,
        "peak_qps": peak[1] if peak else None, "peak_at": peak[0] if peak else None,
        "series": [[rounded(t, 3), rounded(v, 3)] for t, v in series],
    }
    if peak is None or not baseline_mean:
        details["reason"] = ("no db_qps samples in the phase" if peak is None
                             else "baseline db_qps is 0: amplification is undefined")
        return Measurement("db_amplification", None, "x", details)
    return Measurement("db_amplification", peak[1] / baseline_mean, "x", details)
