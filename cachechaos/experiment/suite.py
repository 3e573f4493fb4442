"""Suites: several experiments in one gate, optionally every variant (the detection matrix)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from cachechaos.checks.expectation import detected
from cachechaos.errors import ExitCode, RunStatus
from cachechaos.experiment.matrix import matrix_rows
from cachechaos.experiment.model import ExperimentSpec, load_suite, suite_experiment
from cachechaos.experiment.runner import ExperimentRun, RunOptions, RunOutcome
from cachechaos.heal import target_identity
from cachechaos.store.files import write_json
from cachechaos.store.rundir import SUMMARY_FILE, new_run_id
from cachechaos.store.summary import SuiteSummary
from cachechaos.yamlmodel import ConfigFileError

# Which exit code wins when runs of a suite disagree.
_PRECEDENCE = [ExitCode.ABORTED, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT, ExitCode.FAILED, ExitCode.OK]


def suite_exit_code(rows: list[dict[str, Any]], matrix: bool) -> ExitCode:
    """The worst run's exit code. In a matrix a FAIL is the right outcome of a wrong
    configuration, so a run that finished counts by whether it did what was expected of it,
    and a row whose wrong configuration has no control cell fails."""
    def code(row: dict[str, Any]) -> ExitCode:
        finished = row["exit_code"] in (ExitCode.OK, ExitCode.FAILED)
        if not (matrix and finished):
            return ExitCode(int(row["exit_code"]))
        return ExitCode.FAILED if detected(row) is False else ExitCode.OK

    codes = {code(r) for r in rows}
    if matrix and any(row["missing"] for row in matrix_rows(rows)):
        codes.add(ExitCode.FAILED)
    return next((c for c in _PRECEDENCE if c in codes), ExitCode.OK)


# One run to make: a variant (None: the default configuration), and whether it is the control cell.
Cell = tuple[str | None, bool]


def matrix_cells(spec: ExperimentSpec, variants: list[str]) -> list[Cell]:
    """Every variant with its fault, then the control: the wrong configuration without its trigger."""
    cells: list[Cell] = [(v, False) for v in variants]
    wrong = spec.control_variant
    if wrong is not None and any(spec.variants[v].expect == "fail" for v in variants):
        cells.append((wrong, True))
    return cells


def run_suite(path: Path, options: RunOptions, console: Console, matrix: bool = False,
              only: list[str] | None = None, scale: float | None = None, repeat: int = 1) -> RunOutcome:
    suite = load_suite(path)
    entries = []
    names: list[str] = []
    for index, entry in enumerate(suite.experiments):
        exp_path, spec = suite_experiment(path, suite, index)  # every file validated before anything runs
        names.append(spec.name)
        if scale is not None:
            spec = spec.model_copy(update={"scale": scale})
        if only and spec.name not in only:
            continue
        cells: list[Cell] = [(None, False)]
        if matrix and spec.variants:
            cells = matrix_cells(spec, list(entry.variants or spec.variants))
        entries.append((exp_path, spec, cells))
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        # A gate that ran nothing must not pass: a misspelt --only is bad input.
        raise ConfigFileError(path, None, None, f"--only {', '.join(unknown)}: no such experiment in suite {suite.name}; "
                              f"experiments: {', '.join(names)}")
    healed: set[tuple[str, str]] = set()
    for exp_path, spec, cells in entries:  # every fault fits its target before anything runs (exit 2)
        for variant, control in cells:
            cell = ExperimentRun(spec, exp_path, replace(options, variant=variant, control=control), console)
            topology = cell.validate()
            if target_identity(topology.model_dump(mode="json")) not in healed:  # what earlier gates left (cachechaos.heal)
                cell.heal_previous(topology)
                healed.add(target_identity(topology.model_dump(mode="json")))
    suite_id = options.run_id or new_run_id(f"suite-{suite.name}" + ("-matrix" if matrix else ""))
    suite_dir = (options.reports_dir / suite_id).resolve()
    suite_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    started = time.time()
    plan = [(exp_path, spec, cell, r) for exp_path, spec, cells in entries for cell in cells for r in range(repeat)]
    for exp_path, spec, (variant, control), attempt in plan:
        label = (f" [{variant}]" if variant else "") + (" control" if control else "") + (f" #{attempt + 1}" if repeat > 1 else "")
        console.rule(escape(f"[{len(rows) + 1}/{len(plan)}] {spec.name}{label}"))
        run_options = replace(options, run_id=None, variant=variant, reports_dir=suite_dir, control=control)
        outcome = ExperimentRun(spec, exp_path, run_options, console).execute()
        row: dict[str, Any] = {**outcome.summary, "run_dir": outcome.run_dir.name, "repeat": attempt + 1}
        row["detected"] = detected(row)
        rows.append(row)
        console.print(f"→ {row['status'].upper()} (exit {row['exit_code']})", highlight=False)
        if row["exit_code"] == ExitCode.ABORTED:
            break
    code = suite_exit_code(rows, matrix)
    summary: SuiteSummary = {
        "suite": suite.name, "description": suite.description, "matrix": matrix, "run_id": suite_id,
        "started_at": started, "ended_at": time.time(), "duration_s": time.time() - started,
        "exit_code": code, "status": RunStatus.PASSED if code == ExitCode.OK else RunStatus.ABORTED if code == ExitCode.ABORTED else RunStatus.FAILED,
        "repeat": repeat, "runs": rows,
    }
    if matrix:
        summary["rows"] = matrix_rows(rows)
    write_json(suite_dir / SUMMARY_FILE, summary)
    from cachechaos.report.outputs import write_suite_outputs

    write_suite_outputs(suite_dir, summary)
    return RunOutcome(suite_dir, summary)  # a suite's directory holds its runs' directories
