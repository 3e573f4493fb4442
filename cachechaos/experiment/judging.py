"""Judging a finished run: its criteria over its record, the load's fidelity, the verdict.

Apart from the runner so that any driver of a run (an experiment, a game day) judges the same
way, from the run directory alone: the history, the sampled metrics and the processes' configs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cachechaos.checks.criteria import Criterion, evaluate
from cachechaos.checks.rundata import RunData
from cachechaos.errors import ExitCode, RunStatus
from cachechaos.experiment.evidence import explain_unmeasured
from cachechaos.traffic.fidelity import load_fidelity, process_configs


@dataclass
class Judgement:
    verdicts: list[dict[str, Any]]
    load: dict[str, Any] | None  # the load's fidelity (cachechaos.traffic.fidelity), when it could be read
    status: RunStatus
    exit_code: ExitCode


def judge(run_dir: Path, criteria: list[Criterion], gaps: Mapping[str, str]) -> Judgement:
    """Every criterion over the run's record; `gaps` are the sources the sampler could not read,
    which the verdicts that needed them name. A verdict judged on a load that fell short says so."""
    data = RunData.load(run_dir)
    verdicts = [asdict(v) for v in evaluate(data, criteria)]
    explain_unmeasured(verdicts, gaps)
    fidelity = load_fidelity(process_configs(run_dir), data.columns)
    if fidelity and not fidelity.ok:
        for v in verdicts:
            v["caveat"] = "judged on a run whose load fell short: " + "; ".join(fidelity.problems)
    passed = all(v["passed"] for v in verdicts)
    return Judgement(verdicts, fidelity.to_dict() if fidelity else None,
                     RunStatus.PASSED if passed else RunStatus.FAILED, ExitCode.OK if passed else ExitCode.FAILED)
