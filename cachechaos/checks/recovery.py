"""recovery_time: from the end of a fault to the first second after which a metric stays in its band."""

from __future__ import annotations

from typing import Any, Literal

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import SERIES_NAMES
from cachechaos.checks.stats import mean, rounded
from cachechaos.checks.windows import FaultWindow

# Samples arrive about once a second with jitter: a hold counts as covered when the data reaches
# within this much of its end, otherwise a sample 10 ms early would cost a whole extra second.
COVERAGE_SLACK_S = 0.5


@declares(unit="s")
def recovery_time(run: RunData, metric: str = "l2_hit_rate", band: float = 0.8, hold_s: float = 5.0,
                  baseline_phase: str = "baseline", after: str | None = None,
                  direction: Literal["above", "below"] = "above") -> Measurement:
    """Seconds from the fault's end until `metric` enters its band and stays there for `hold_s`.

    The band is `band` x the baseline mean: value >= threshold for direction "above" (hit rate
    back to 80% of baseline), value <= threshold for "below" (DB QPS back under 1.2x baseline).
    Only points at or after the fault's end are candidates; a point's time is that of its
    series (history seconds, metric samples), so the resolution is about a second. Seconds
    without a value (no lookups) neither break nor make a hold, but the data must reach the
    end of the hold. Never recovered within the run: value None, details["recovered"] False.
    """
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
    if metric not in SERIES_NAMES:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(SERIES_NAMES)}")
    if hold_s < 0 or band < 0:
        raise ValueError("hold_s and band must be >= 0")
    fault_end, after_name = _fault_end(run, after)
    series = run.series(metric)
    baseline_mean = mean([v for _, v in run.series_in(metric, run.phase(baseline_phase))])
    details: dict[str, Any] = {
        "metric": metric, "direction": direction, "band": band, "hold_s": hold_s,
        "after": after_name, "fault_end": fault_end, "baseline_phase": baseline_phase,
        "baseline_mean": baseline_mean, "threshold": None, "recovered": False, "recovered_at": None,
        "curve": [[rounded(t - fault_end, 3), rounded(v)] for t, v in series],
    }
    if baseline_mean is None:
        details["reason"] = f"no {metric} values in the baseline phase {baseline_phase!r}"
        return Measurement("recovery_time", None, "s", details)
    threshold = band * baseline_mean
    details["threshold"] = threshold

    def inside(v: float) -> bool:
        return v >= threshold if direction == "above" else v <= threshold

    after_points = [(t, v) for t, v in series if t >= fault_end]
    last_t = after_points[-1][0] if after_points else None
    # Walk backwards: the latest point that breaks the band bounds every hold that starts before it.
    next_break: list[float | None] = [None] * len(after_points)
    upcoming: float | None = None
    for i in range(len(after_points) - 1, -1, -1):
        t, v = after_points[i]
        if not inside(v):
            upcoming = t
        next_break[i] = upcoming
    for i, (t, v) in enumerate(after_points):
        if not inside(v):
            continue
        hold_end = t + hold_s
        brk = next_break[i]
        if (brk is None or brk > hold_end) and last_t is not None and last_t >= hold_end - COVERAGE_SLACK_S:
            details.update(recovered=True, recovered_at=t)
            return Measurement("recovery_time", t - fault_end, "s", details)
    details["reason"] = "never recovered within the run"
    return Measurement("recovery_time", None, "s", details)


def _fault_end(run: RunData, after: str | None) -> tuple[float, str]:
    """The instant recovery is measured from: a fault's heal, a phase's end, or the first injected
    fault's heal. A one-shot fault (FLUSHALL, a restart) counts from its start: a restart's inject
    returns only once the instances are back (and warmed), and that outage is part of the recovery."""
    if after is None:
        injected = [f for f in run.faults if f.ok] or run.faults
        if not injected:
            raise ValueError("the run has no injected fault; name a fault id or phase with `after`")
        return _instant(injected[0]), injected[0].name
    for fault in run.faults:
        if fault.name == after:
            return _instant(fault), after
    for phase in run.phases:
        if phase.name == after:
            return phase.end, after
    known = [f.name for f in run.faults] + [p.name for p in run.phases]
    raise ValueError(f"`after`: no fault or phase {after!r} in this run; known: {', '.join(known) or 'none'}")


def _instant(fault: FaultWindow) -> float:
    return fault.start if fault.one_shot else fault.end
