"""The detection matrix: named mechanisms, the control cell, fault-scoped criteria, margins over repeats."""

from __future__ import annotations

from typing import Any

import pytest

from cachechaos.checks.expectation import detected
from cachechaos.experiment.matrix import matrix_rows
from cachechaos.experiment.model import ExperimentSpec
from cachechaos.experiment.suite import matrix_cells

NAMED = "stale reads at 1 s < 1%"


def _spec(**extra: Any) -> ExperimentSpec:
    return ExperimentSpec.model_validate({
        "name": "demo", "purpose": "matrix",
        "phases": [{"name": "baseline", "duration_s": 2},
                   {"name": "fault", "duration_s": 4, "faults": [{"type": "latency", "link": "pubsub.*", "latency_ms": 1500}]},
                   {"name": "recovery", "duration_s": 2}],
        "criteria": [{"name": NAMED, "check": "stale_read_rate", "window_s": 1, "max": 0.01},
                     {"name": "errors", "check": "error_rate", "max": 0.01}],
        "variants": {"wrong": {"expect": "fail", "backend": {"strategy": "ttl"}},
                     "right": {"expect": "pass", "backend": {"strategy": "event"}}},
        **extra,
    })


def _run(variant: str, expect: str, named_passed: bool, other_passed: bool = True, measured: float = 0.0,
         cell: str = "fault", error: str | None = None) -> dict[str, Any]:
    verdicts = [{"name": NAMED, "passed": named_passed, "measured": None if error else measured, "max": 0.01, "min": None,
                 "threshold": "<= 0.01", "unit": "ratio", "details": {"error": error} if error else {}},
                {"name": "errors", "passed": other_passed, "measured": 0.0, "max": 0.01, "min": None,
                 "threshold": "<= 0.01", "unit": "ratio", "details": {}}]
    status = "passed" if named_passed and other_passed else "failed"
    return {"experiment": "demo", "variant": variant, "expect": expect, "cell": cell, "detects": NAMED,
            "mechanism": "late events", "status": status, "exit_code": 0 if status == "passed" else 1, "verdicts": verdicts}


def test_fault_criteria_are_scoped_to_the_faults_phase_unless_told_otherwise() -> None:
    spec = _spec()
    assert spec.criteria[0].params == {"window_s": 1.0, "phase": "fault"}  # stale reads: what the fault does
    assert "phase" not in spec.criteria[1].params                         # an error SLO is over the whole run
    whole = _spec(criteria=[{"name": NAMED, "check": "stale_read_rate", "window_s": 1, "phase": None, "max": 0.01}])
    assert whole.criteria[0].params["phase"] is None                       # `phase: null` asks for the whole run


def test_the_control_is_the_wrong_configuration_with_every_fault_dry() -> None:
    spec = _spec(detection={"criterion": NAMED, "mechanism": "late events", "control": {"traffic": {"zipf_s": 0.5}}})
    assert spec.control_variant == "wrong"
    assert matrix_cells(spec, ["wrong", "right"]) == [("wrong", False), ("right", False), ("wrong", True)]
    assert matrix_cells(spec, ["right"]) == [("right", False)]  # no wrong configuration run: nothing to control
    control = spec.variant("wrong").control()
    assert [f.dry for p in control.phases for f in p.faults] == [True]
    assert [f.dry for p in spec.phases for f in p.faults] == [False]
    assert control.traffic.zipf_s == 0.5 and control.backend == {"strategy": "ttl"}
    with pytest.raises(ValueError, match="names no criterion"):
        _spec(detection={"criterion": "nonesuch", "mechanism": "m"})


def test_a_wrong_configuration_is_detected_only_through_its_named_criterion() -> None:
    assert detected(_run("wrong", "fail", named_passed=False, measured=0.05)) is True
    # Failing for another reason (errors) while the mechanism's criterion passed is not a detection.
    assert detected(_run("wrong", "fail", named_passed=True, other_passed=False)) is False
    # A check that refused to judge (no evidence) detects nothing either.
    assert detected(_run("wrong", "fail", named_passed=False, error="UnjudgedReads: 40% of reads")) is False
    # The control holds when the named criterion passes; a right configuration must pass everything.
    assert detected(_run("wrong", "pass", named_passed=True, other_passed=False, cell="control")) is True
    assert detected(_run("wrong", "pass", named_passed=False, measured=0.02, cell="control")) is False
    assert detected(_run("right", "pass", named_passed=True, other_passed=False)) is False


def test_rows_have_three_cells_with_ranges_and_margins() -> None:
    runs = [_run("wrong", "fail", False, measured=m) for m in (0.03, 0.05)]
    runs += [_run("right", "pass", True, measured=m) for m in (0.0, 0.004)]
    runs += [_run("wrong", "pass", True, measured=m, cell="control") for m in (0.001, 0.002)]
    runs = [{**r, "detected": detected(r)} for r in runs]
    [row] = matrix_rows(runs)
    assert row["ok"] and row["criterion"] == NAMED and row["missing"] == []
    wrong, right, control = row["cells"]
    assert (wrong["cell"], right["cell"], control["cell"]) == ("wrong", "right", "control")
    assert wrong["range"] == [0.03, 0.05] and wrong["margin"] == pytest.approx(0.02)      # worst wrong run: 0.03 vs 0.01
    assert right["range"] == [0.0, 0.004] and right["margin"] == pytest.approx(0.006)     # worst right run: 0.004
    assert control["margin"] == pytest.approx(0.008) and control["as_expected"] == 2
    # One wrong run that slipped under the threshold: the cell is not OK and its margin is negative.
    slipped = matrix_rows([*runs, {**_run("wrong", "fail", True, measured=0.008), "detected": False}])[0]
    assert not slipped["ok"] and slipped["cells"][0]["margin"] == pytest.approx(-0.002)
    # Without its control the row proves nothing.
    assert matrix_rows([r for r in runs if r["cell"] != "control"])[0]["missing"] == ["control"]
