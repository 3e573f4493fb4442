"""Checkers: pure functions of a run directory (history, metrics, journal) that measure one property each.

    run = RunData.load(run_dir)
    CHECKS["stale_read_rate"](run, window_s=1.0)      # -> Measurement
    evaluate(run, [Criterion(check="stale_read_rate", window_s=1, max=0.01)])   # -> [Verdict]
"""

from cachechaos.checks.criteria import Criterion, Verdict, evaluate, evaluate_one
from cachechaos.checks.registry import CHECKS, check_parameters, run_check, validate_params
from cachechaos.checks.result import Measurement
from cachechaos.checks.rundata import RunData
from cachechaos.checks.series import SERIES_NAMES
from cachechaos.checks.windows import FaultWindow, Window

__all__ = [
    "CHECKS",
    "SERIES_NAMES",
    "Criterion",
    "FaultWindow",
    "Measurement",
    "RunData",
    "Verdict",
    "Window",
    "check_parameters",
    "evaluate",
    "evaluate_one",
    "run_check",
    "validate_params",
]
