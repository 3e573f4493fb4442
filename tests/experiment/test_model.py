"""Experiment and suite files: validation with file/line/field errors, variants, redaction, outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cachechaos.checklist import EXPERIMENTS_DIR
from cachechaos.checks.expectation import detected
from cachechaos.experiment.model import load_experiment, load_suite
from cachechaos.experiment.suite import suite_exit_code
from cachechaos.redact import redact
from cachechaos.report.junit import write_junit
from cachechaos.report.markdown import run_markdown
from cachechaos.yamlmodel import ConfigFileError

GOOD = """\
name: demo
purpose: a demo
backend:
  strategy: event
phases:
  - name: baseline
    duration_s: 2
  - name: fault
    duration_s: 3
    faults:
      - type: latency
        link: postgres
        latency_ms: 50
      - type: flushall
        after_s: 1
criteria:
  - check: stale_read_rate
    window_s: 1
    max: 0.01
variants:
  wrong:
    expect: fail
    backend: {strategy: delete}
"""


def test_a_good_experiment_loads_with_fault_ids_and_variants(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    spec = load_experiment(path)
    assert [f.id for f in spec.phases[1].faults] == ["latency", "flushall"]
    assert spec.duration_s == 5
    assert spec.variant("wrong").backend == {"strategy": "delete"}
    assert spec.backend == {"strategy": "event"}


@pytest.mark.parametrize(
    ("change", "line", "field"),
    [
        (("latency_ms: 50", "latency_ms: fast"), 13, "phases.1.faults.0.latency_ms"),
        (("type: flushall", "type: meteor"), 14, "phases.1.faults.1"),
        (("duration_s: 2", "duration_s: -2"), 7, "phases.0.duration_s"),
        (("strategy: event", "strategy: eventual"), 4, "backend.strategy"),
        (("backend: {strategy: delete}", "backend: {strategy: nope}"), 23, "variants.wrong.backend.strategy"),
        (("purpose: a demo\n", "purpose: a demo\ncolour: red\n"), 3, "colour"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, change: tuple[str, str], line: int, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigFileError) as info:
        load_experiment(path)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)


def test_shipped_experiments_and_suite_validate() -> None:
    suite = load_suite(EXPERIMENTS_DIR / "checklist.yaml")
    for entry in suite.experiments:
        spec = load_experiment(EXPERIMENTS_DIR / entry.path)
        assert spec.criteria, f"{entry.path} has no criteria"
        for variant in entry.variants or []:
            spec.variant(variant)


def test_redaction_masks_passwords_everywhere() -> None:
    data = {"dsn": "postgresql://app:s3cret@db:5432/x", "nested": [{"password": "hunter2"}, "password=abc host=x"],
            "redis_url": "redis://:topsecret@127.0.0.1:6379/0", "plain": "nothing here"}
    text = str(redact(data))
    for secret in ("s3cret", "hunter2", "abc", "topsecret"):
        assert secret not in text
    assert redact(data)["plain"] == "nothing here"


def test_matrix_detection_logic() -> None:
    assert detected({"expect": "fail", "status": "failed"}) is True
    assert detected({"expect": "fail", "status": "passed"}) is False
    assert detected({"expect": "pass", "status": "passed"}) is True
    assert detected({"expect": "report", "status": "failed"}) is None
    assert detected({"expect": "pass", "status": "aborted"}) is False
    assert detected({"expect": None, "status": "passed"}) is None  # a summary from before runs carried one


def test_matrix_exit_code_wants_every_run_to_do_what_was_expected_of_it() -> None:
    wrong_caught = {"experiment": "x", "variant": "wrong", "expect": "fail", "status": "failed", "exit_code": 1}
    right_passed = {"experiment": "x", "variant": "right", "expect": "pass", "status": "passed", "exit_code": 0}
    control_passed = {"experiment": "x", "variant": "wrong", "cell": "control", "expect": "pass", "status": "passed",
                      "exit_code": 0}
    assert suite_exit_code([wrong_caught, right_passed, control_passed], matrix=True) == 0
    assert suite_exit_code([wrong_caught, right_passed], matrix=True) == 1  # no control: nothing proves the fault exposed it
    assert suite_exit_code([wrong_caught, right_passed, {**control_passed, "status": "failed", "exit_code": 1}],
                           matrix=True) == 1
    assert suite_exit_code([wrong_caught, right_passed], matrix=False) == 1
    assert suite_exit_code([{"expect": "fail", "status": "passed", "exit_code": 0}], matrix=True) == 1
    # An experiment without variants runs its default configuration, which must pass.
    assert suite_exit_code([{"expect": "pass", "status": "failed", "exit_code": 1}], matrix=True) == 1
    assert suite_exit_code([{"expect": "report", "status": "failed", "exit_code": 1}], matrix=True) == 0
    assert suite_exit_code([right_passed, {**wrong_caught, "status": "aborted", "exit_code": 130}], matrix=True) == 130
    assert suite_exit_code([right_passed, {**wrong_caught, "status": "error", "exit_code": 3}], matrix=True) == 3


def test_the_default_configuration_is_expected_to_pass(tmp_path: Path) -> None:
    from cachechaos.experiment.runner import ExperimentRun, RunOptions

    path = tmp_path / "exp.yaml"
    path.write_text(GOOD)
    spec = load_experiment(path)
    assert ExperimentRun(spec, path, RunOptions(reports_dir=tmp_path)).expect == "pass"
    wrong = ExperimentRun(spec, path, RunOptions(reports_dir=tmp_path, variant="wrong"))
    assert wrong.expect == "fail"


def test_junit_and_markdown_show_each_criterion(tmp_path: Path) -> None:
    summary = {"run_id": "r1", "experiment": "demo", "variant": "wrong", "purpose": "p", "status": "failed",
               "duration_s": 12.0, "notes": ["metrics: GET /metrics answered 404"], "verdicts": [
                   {"name": "stale reads", "threshold": "< 0.01", "measured": 0.2, "unit": "ratio", "passed": False},
                   {"name": "errors", "threshold": "< 0.01", "measured": 0.0, "unit": "ratio", "passed": True}]}
    write_junit(tmp_path / "junit.xml", [summary])
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures == ["stale reads"]
    md = run_markdown(summary)
    assert "FAILED" in md and "| stale reads | < 0.01 | 0.2 ratio | ❌ |" in md
    assert "- metrics: GET /metrics answered 404" in md


def test_the_fault_union_covers_every_registered_fault() -> None:
    from typing import get_args

    from cachechaos.faults import REGISTRY, FaultSpec

    union = get_args(get_args(FaultSpec)[0])
    assert {m.model_fields["type"].default for m in union} == set(REGISTRY)
    assert all(REGISTRY[m.model_fields["type"].default].params_model is m for m in union)
