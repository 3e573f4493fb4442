"""Criteria: validation when an experiment is loaded, verdicts when a run is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from cachechaos.checks import CHECKS, Criterion, RunData, Verdict, evaluate, run_check
from cachechaos.history import Layer
from tests.checks.rundirs import RunDirBuilder


@pytest.fixture
def run(tmp_path: Path) -> RunData:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10), ("fault", 10, 20)).fault("flushall", 12, 12)
    b.write(1, 2, key=1, version=2)
    for i in range(10):
        b.read(3 + i, key=1, version=1 if i < 1 else 2, layer=Layer.L1)   # one stale read of ten
    return RunData.load(b.write_dir())


def test_params_as_fields_or_under_params() -> None:
    a = Criterion.model_validate({"check": "stale_read_rate", "window_s": 1, "max": 0.01})
    b = Criterion.model_validate({"check": "stale_read_rate", "params": {"window_s": 1}, "max": 0.01})
    assert a.params == b.params == {"window_s": 1.0}
    assert a.model_dump()["params"] == {"window_s": 1.0} and "window_s" not in a.model_dump()
    assert Criterion.model_validate(a.model_dump()) == a  # a dump loads back (summary.json round trip)
    assert a.label == "stale_read_rate(window_s=1.0)"


@pytest.mark.parametrize(("data", "message"), [
    ({"check": "stale_rate", "max": 1}, "unknown check 'stale_rate'; checks: db_amplification"),
    ({"check": "stale_read_rate", "windw_s": 1, "max": 1}, "has no parameter 'windw_s'; parameters: window_s, phase"),
    ({"check": "stale_read_rate", "window_s": "soon", "max": 1}, "parameter 'window_s'"),
    ({"check": "latency", "route": "home", "max": 1}, "'catalog', 'product_write'"),
    ({"check": "latency"}, "needs a bound"),
    ({"check": "latency", "min": 5, "max": 1}, "above max"),
    ({"check": "latency", "route": "cart", "params": {"route": "order"}, "max": 1}, "both as a field and under params"),
])
def test_bad_criteria_are_rejected_with_the_valid_choices(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        Criterion.model_validate(data)


def test_verdicts(run: RunData) -> None:
    criteria = [
        Criterion(check="stale_read_rate", max=0.2),                      # 0.1: pass
        Criterion(check="stale_read_rate", max=0.05, name="stale < 5%"),  # fail
        Criterion(check="stale_read_rate", params={"window_s": 60}, max=0),           # never stale at 60 s: 0, passes
        Criterion(check="hit_rate", params={"layer": "l1"}, min=0.8),                 # 1.0: pass
        Criterion(check="latency", params={"route": "order"}, max=100),               # no orders: None, fails
        Criterion(check="latency", params={"route": "order"}, max=100, none_passes=True),
        Criterion(check="recovery_time", params={"metric": "l2_hit_rate"}, max=120),  # no samples: None
        Criterion(check="db_amplification", params={"phase": "nope"}, max=3),         # raises: failed verdict
        Criterion(check="error_rate", min=0, max=0.01),
    ]
    verdicts = evaluate(run, criteria)
    assert [v.passed for v in verdicts] == [True, False, True, True, False, True, False, False, True]
    first = verdicts[0]
    assert isinstance(first, Verdict)
    assert (first.name, first.check, first.threshold, first.unit) == ("stale_read_rate", "stale_read_rate", "<= 0.2", "ratio")
    assert first.measured == pytest.approx(0.1)
    assert verdicts[1].name == "stale < 5%"
    assert verdicts[2].measured == 0.0
    assert verdicts[3].threshold == ">= 0.8"
    assert verdicts[4].measured is None and verdicts[4].threshold == "<= 100 ms"
    assert verdicts[6].threshold == "<= 120 s"
    broken = verdicts[7]
    assert broken.measured is None and "no phase or fault 'nope'" in broken.details["error"]
    assert broken.unit == "x"
    assert verdicts[8].threshold == "0 .. 0.01"
    json.dumps([v.to_dict() for v in verdicts])  # summary.json must be able to hold them


def test_run_check_by_name_rejects_unknown_parameters(run: RunData) -> None:
    assert run_check("stale_read_rate", run, window_s=0).value == pytest.approx(0.1)
    with pytest.raises(ValueError, match="has no parameter 'window'"):
        run_check("stale_read_rate", run, window=0)
    with pytest.raises(TypeError):
        CHECKS["stale_read_rate"](run, window=0)


def test_every_measurement_is_json_serialisable(run: RunData) -> None:
    for name, check in CHECKS.items():
        m = check(run)  # the fixture has a baseline, a fault phase and a fault: every default applies
        json.dumps(m.to_dict(), allow_nan=False)
        assert m.check == name
