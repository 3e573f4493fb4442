"""Faults declare the capabilities they need; an experiment asking more of its target is rejected at validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from cachechaos.errors import ExitCode
from cachechaos.experiment.model import load_experiment
from cachechaos.experiment.runner import ExperimentRun, RunOptions
from cachechaos.faults import REGISTRY, UnsupportedFault
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.target import (
    CAPABILITIES,
    Disconnectable,
    Killable,
    Pausable,
    Restartable,
    missing_capabilities,
)

KILL_EXPERIMENT = {
    "name": "kill-attached",
    "purpose": "asks a kill of a target someone else runs",
    "phases": [{"name": "fault", "duration_s": 5, "faults": [{"type": "kill", "node": "redis-1", "id": "crash"}]}],
}
QUIET = Console(quiet=True)
EXTERNAL = {"kind": "external", "name": "their-shop", "backends": ["http://127.0.0.1:1"],
            "redis": {"nodes": {"redis-1": "127.0.0.1:2"}}}


def _files(tmp_path: Path, experiment: dict[str, object]) -> tuple[Path, Path]:
    exp, topo = tmp_path / "experiment.yaml", tmp_path / "external.yaml"
    exp.write_text(yaml.safe_dump(experiment))
    topo.write_text(yaml.safe_dump(EXTERNAL))
    return exp, topo


def test_kill_of_an_external_target_is_rejected_at_validation_with_exit_2(tmp_path: Path) -> None:
    exp, topo = _files(tmp_path, KILL_EXPERIMENT)
    reports = tmp_path / "reports"
    out = subprocess.run([sys.executable, "-m", "cachechaos", "run", str(exp), "--topology", str(topo), "--no-live",
                          "--reports-dir", str(reports)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == ExitCode.BAD_INPUT == 2, out.stderr
    message = " ".join(out.stderr.split())
    assert "'crash' (kill)" in message and "Killable" in message, message
    assert "their-shop" in message, message
    assert not reports.exists(), "rejected before anything ran: no run directory"


def test_a_gate_lists_it_as_not_applicable_and_never_passes_on_it(tmp_path: Path) -> None:
    """In a gate the row is matched against the target (docs/gate-your-service.md): not applicable, with what
    to add, and never run. A gate in which no row could run has judged nothing and fails."""
    exp, topo = _files(tmp_path, KILL_EXPERIMENT)
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "experiments": [{"path": exp.name}]}))
    reports = tmp_path / "reports"
    out = subprocess.run([sys.executable, "-m", "cachechaos", "gate", str(suite), "--topology", str(topo), "--no-live",
                          "--reports-dir", str(reports)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == ExitCode.FAILED, out.stderr
    assert "Traceback" not in out.stderr
    assert "not applicable" in out.stderr and "chaos_targets" in out.stderr, out.stderr
    assert "nothing was judged" in out.stdout + out.stderr
    (suite_dir,) = reports.iterdir()
    summary = json.loads((suite_dir / "summary.json").read_text())
    assert [r["status"] for r in summary["runs"]] == ["not_applicable"]
    assert [p.name for p in suite_dir.iterdir() if p.is_dir()] == [], "the row never ran: no run directory"


def test_validation_passes_faults_the_target_can_do(tmp_path: Path) -> None:
    link_fault = {**KILL_EXPERIMENT, "phases": [{"name": "fault", "duration_s": 5,
                                                 "faults": [{"type": "latency", "link": "redis-1", "latency_ms": 5}]}]}
    exp, topo = _files(tmp_path, link_fault)
    run = ExperimentRun(load_experiment(exp), exp, RunOptions(reports_dir=tmp_path, topology=topo, live=False))
    assert run.validate().kind == "external"
    exp, _ = _files(tmp_path, KILL_EXPERIMENT)
    local = ExperimentRun(load_experiment(exp), exp, RunOptions(reports_dir=tmp_path, live=False))
    assert local.validate().kind == "local"
    with pytest.raises(UnsupportedFault, match="their-shop"):
        ExperimentRun(load_experiment(exp), exp, RunOptions(reports_dir=tmp_path, topology=topo, live=False)).validate()


def test_what_each_target_can_do() -> None:
    # Processes can be stopped, not taken off a network (containers can: tests/docker).
    assert missing_capabilities(LocalTopology, CAPABILITIES) == [Disconnectable]
    assert set(missing_capabilities(ExternalTarget, CAPABILITIES)) >= {Killable, Pausable, Restartable}
    # The core protocol has a property, so it is checked on instances, not classes.
    assert all(hasattr(cls, name) for cls in (LocalTopology, ExternalTarget)
               for name in ("endpoints", "catalog", "describe", "destructive_allowed", "close"))
    # Every fault that acts on the target's processes says so.
    assert Killable in REGISTRY["kill"].requires and Restartable in REGISTRY["restart_backends"].requires
