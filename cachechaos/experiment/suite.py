"""Suites: several experiments in one gate, optionally every variant (the detection matrix)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from cachechaos.experiment.model import load_experiment, load_suite
from cachechaos.experiment.rundir import SUMMARY_FILE, detected, write_json
from cachechaos.experiment.runner import (
    EXIT_ABORTED,
    EXIT_FAILED,
    EXIT_OK,
    ExperimentRun,
    RunOptions,
    RunOutcome,
    new_run_id,
)
from cachechaos.yamlmodel import ConfigFileError

# Which exit code wins when runs of a suite disagree.
_PRECEDENCE = [EXIT_ABORTED, 2, 3, EXIT_FAILED, EXIT_OK]


def suite_exit_code(rows: list[dict[str, Any]], matrix: bool) -> int:
    """The worst run's exit code. In a matrix a FAIL is the right outcome of a wrong
    configuration, so a run that finished counts by whether it did what was expected of it."""
    def code(row: dict[str, Any]) -> int:
        finished = row["exit_code"] in (EXIT_OK, EXIT_FAILED)
        if not (matrix and finished):
            return int(row["exit_code"])
        return EXIT_FAILED if detected(row) is False else EXIT_OK

    codes = {code(r) for r in rows}
    return next((c for c in _PRECEDENCE if c in codes), EXIT_OK)


def run_suite(path: Path, options: RunOptions, console: Console, matrix: bool = False,
              only: list[str] | None = None, scale: float | None = None) -> RunOutcome:
    suite = load_suite(path)
    entries = []
    names: list[str] = []
    for entry in suite.experiments:
        exp_path = (path.parent / entry.path).resolve()
        spec = load_experiment(exp_path)  # every file validated before anything runs
        names.append(spec.name)
        if scale is not None:
            spec = spec.model_copy(update={"scale": scale})
        if only and spec.name not in only:
            continue
        variants: list[str | None] = [None]
        if matrix and spec.variants:
            variants = list(entry.variants or spec.variants)
        entries.append((exp_path, spec, variants))
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        # A gate that ran nothing must not pass: a misspelt --only is bad input.
        raise ConfigFileError(path, None, None, f"--only {', '.join(unknown)}: no such experiment in suite {suite.name}; "
                              f"experiments: {', '.join(names)}")
    suite_id = options.run_id or new_run_id(f"suite-{suite.name}" + ("-matrix" if matrix else ""))
    suite_dir = (options.reports_dir / suite_id).resolve()
    suite_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    started = time.time()
    total = sum(len(v) for _, _, v in entries)
    for exp_path, spec, variants in entries:
        for variant in variants:
            console.rule(escape(f"[{len(rows) + 1}/{total}] {spec.name}" + (f" [{variant}]" if variant else "")))
            run_options = replace(options, run_id=None, variant=variant, reports_dir=suite_dir)
            outcome = ExperimentRun(spec, exp_path, run_options, console).execute()
            summary = outcome.summary
            row = {**summary, "run_dir": outcome.run_dir.name}
            row["detected"] = detected(row)
            rows.append(row)
            console.print(f"→ {summary['status'].upper()} (exit {summary['exit_code']})", highlight=False)
            if summary["exit_code"] == EXIT_ABORTED:
                break
        if rows and rows[-1]["exit_code"] == EXIT_ABORTED:
            break
    code = suite_exit_code(rows, matrix)
    summary = {
        "suite": suite.name, "description": suite.description, "matrix": matrix, "run_id": suite_id,
        "started_at": started, "ended_at": time.time(), "duration_s": time.time() - started,
        "exit_code": code, "status": "passed" if code == EXIT_OK else "aborted" if code == EXIT_ABORTED else "failed",
        "runs": rows,
    }
    write_json(suite_dir / SUMMARY_FILE, summary)
    from cachechaos.report.outputs import write_suite_outputs

    write_suite_outputs(suite_dir, summary)
    return RunOutcome(suite_dir, summary)  # a suite's directory holds its runs' directories
