"""Suites: several experiments in one gate, optionally every variant (the detection matrix)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from cachechaos.applicability import Offer, RowApplicability, offer_of
from cachechaos.checks.expectation import detected
from cachechaos.errors import BadInput, ExitCode, RunStatus
from cachechaos.experiment.binding import bind_row, row_applicability
from cachechaos.experiment.listeners import attach
from cachechaos.experiment.matrix import matrix_rows
from cachechaos.experiment.model import ExperimentSpec, load_suite, suite_experiment
from cachechaos.experiment.runner import ExperimentRun, RunOptions, RunOutcome
from cachechaos.heal import target_identity
from cachechaos.runtime.external_spec import AttachedTopologySpec, ExternalTopologySpec
from cachechaos.runtime.topology import load_topology_or_default
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
    if rows and all(r["status"] == RunStatus.NOT_APPLICABLE for r in rows):
        codes.add(ExitCode.FAILED)  # nothing ran, nothing was judged: a gate with no evidence never passes
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


def gate_row(spec: ExperimentSpec, attached: AttachedTopologySpec,
             offer: Offer) -> tuple[RowApplicability, ExperimentSpec | None, list[Cell]]:
    """A row as `gate` runs it on an attached service: whether it applies, the row bound to the topology
    (None: not applicable) and its cells, with the faults and, when it has any, the control with them dry."""
    applicability = row_applicability(spec, offer)
    if not applicability.applicable:
        return applicability, None, []
    bound = bind_row(spec, attached, applicability)
    cells: list[Cell] = [(None, False)]
    if any(p.faults for p in bound.phases):
        cells.append((None, True))
    return applicability, bound, cells


def attached_topology(options: RunOptions) -> AttachedTopologySpec | None:
    """The service a gate attaches to (kind external or compose), or None for a sample backend it runs."""
    if options.topology is None:
        return None
    topology = load_topology_or_default(options.topology)
    return topology if isinstance(topology, AttachedTopologySpec) else None


def target_offer(topology: AttachedTopologySpec) -> Offer:
    """What the attached target has: its topology, and for an external one what the probe finds answering
    (read-only: the probe writes nothing here)."""
    if isinstance(topology, ExternalTopologySpec):
        from cachechaos.probe import probe_seen

        return offer_of(topology, probe_seen(topology))
    return offer_of(topology)


def not_applicable_row(spec: ExperimentSpec, applicability: RowApplicability, required: bool) -> dict[str, Any]:
    """A row the target cannot run, as a run row of the suite: never a pass, a failure when required."""
    return {"run_id": None, "experiment": spec.name, "variant": None, "purpose": spec.purpose,
            "status": RunStatus.NOT_APPLICABLE, "exit_code": ExitCode.FAILED if required else ExitCode.OK,
            "error": None, "expect": "pass", "cell": "fault", "verdicts": [], "duration_s": 0.0,
            "missing": applicability.missing, "required": required, "notes": applicability.missing, "repeat": 1}


def findings(rows: list[dict[str, Any]], table: list[RowApplicability]) -> list[dict[str, Any]]:
    """The applicability table with each row's outcome: a row failing with its faults and without them
    fails without the fault, a finding about the service rather than about the fault."""
    out = []
    for app in table:
        cells = {r.get("cell") or "fault": r["status"] for r in rows
                 if r["experiment"] == app.experiment and r["status"] != RunStatus.NOT_APPLICABLE}
        fault, control = cells.get("fault"), cells.get("control")
        finding = None
        if fault == RunStatus.FAILED and control == RunStatus.FAILED:
            finding = "fails without the fault"
        elif fault == RunStatus.FAILED and control == RunStatus.PASSED:
            finding = "fails under the fault"
        out.append({**app.to_dict(), "fault": fault, "control": control, "finding": finding})
    return out


def run_suite(path: Path, options: RunOptions, console: Console, matrix: bool = False,
              only: list[str] | None = None, scale: float | None = None, repeat: int = 1, seed: int | None = None,
              require: list[str] | None = None, strict: bool = False) -> RunOutcome:
    suite = load_suite(path)
    attached = attached_topology(options)
    if attached is not None and matrix:
        raise BadInput(f"--matrix runs the sample backend's wrong and right configurations; {options.topology} is a "
                       f"service cachechaos attaches to (kind {attached.kind}): gate it without --matrix, each row "
                       "then runs with its faults and as a control with them dry")
    offer = target_offer(attached) if attached is not None else None
    entries = []
    names: list[str] = []
    table: list[RowApplicability] = []
    skipped: list[dict[str, Any]] = []
    for index, entry in enumerate(suite.experiments):
        exp_path, spec = suite_experiment(path, suite, index)  # every file validated before anything runs
        names.append(spec.name)
        if scale is not None:
            spec = spec.model_copy(update={"scale": scale})
        if only and spec.name not in only:
            continue
        cells: list[Cell] = [(None, False)]
        notes: tuple[str, ...] = ()
        if attached is not None and offer is not None:
            applicability, bound, cells = gate_row(spec, attached, offer)
            table.append(applicability)
            if bound is None:
                skipped.append(not_applicable_row(spec, applicability, strict or spec.name in (require or ())))
                continue
            spec, notes = bound, tuple(applicability.left_out)
        elif matrix and spec.variants:
            cells = matrix_cells(spec, list(entry.variants or spec.variants))
        entries.append((exp_path, spec, cells, notes))
    unknown = sorted((set(only or ()) | set(require or ())) - set(names))
    if unknown:
        # A gate that ran nothing must not pass: a misspelt --only (or --require) is bad input.
        flag = "--only" if set(unknown) & set(only or ()) else "--require"
        raise ConfigFileError(path, None, None, f"{flag} {', '.join(unknown)}: no such experiment in suite {suite.name}; "
                              f"experiments: {', '.join(names)}")
    healed: set[tuple[str, str]] = set()
    for exp_path, spec, cells, _ in entries:  # every fault fits its target before anything runs (exit 2)
        for variant, control in cells:
            cell = ExperimentRun(spec, exp_path, replace(options, variant=variant, control=control))
            attach(cell, console, live=False, reports=False)
            topology = cell.validate()
            if target_identity(topology.model_dump(mode="json")) not in healed:  # what earlier gates left (cachechaos.heal)
                cell.heal_previous(topology)
                healed.add(target_identity(topology.model_dump(mode="json")))
    suite_id = options.run_id or new_run_id(f"suite-{suite.name}" + ("-matrix" if matrix else ""))
    suite_dir = (options.reports_dir / suite_id).resolve()
    suite_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    started = time.time()
    for na in skipped:
        console.print(escape(f"{na['experiment']}: not applicable to {options.topology}: " + "; ".join(na["missing"])),
                      highlight=False)
    plan = [(exp_path, spec, cell, notes, r) for exp_path, spec, cells, notes in entries for cell in cells for r in range(repeat)]
    for exp_path, spec, (variant, control), notes, attempt in plan:
        label = (f" [{variant}]" if variant else "") + (" control" if control else "") + (f" #{attempt + 1}" if repeat > 1 else "")
        console.rule(escape(f"[{len(rows) + 1}/{len(plan)}] {spec.name}{label}"))
        run_options = replace(options, run_id=None, variant=variant, reports_dir=suite_dir, control=control, notes=notes)
        # Repeats draw other load sequences: a repeat of the same seed replays the same ids and
        # instants, and its agreement says nothing about the next sequence (docs/scale.md).
        load_seed = (spec.traffic.seed if seed is None else seed) + attempt
        cell_spec = spec if load_seed == spec.traffic.seed else spec.reseeded(load_seed)
        run = ExperimentRun(cell_spec, exp_path, run_options)
        attach(run, console, live=options.live)
        outcome = run.execute()
        row: dict[str, Any] = {**outcome.summary, "run_dir": outcome.run_dir.name, "repeat": attempt + 1, "seed": load_seed}
        row["detected"] = detected(row)
        rows.append(row)
        console.print(f"→ {row['status'].upper()} (exit {row['exit_code']})", highlight=False)
        if row["exit_code"] == ExitCode.ABORTED:
            break
    rows += skipped
    code = suite_exit_code(rows, matrix)
    if skipped and len(skipped) == len(rows):
        console.print(escape(f"no row of suite {suite.name} can run against {options.topology}: nothing was judged, "
                             "so the gate fails (see what each row needs above)"), highlight=False)
    summary: SuiteSummary = {
        "suite": suite.name, "description": suite.description, "matrix": matrix, "run_id": suite_id,
        "started_at": started, "ended_at": time.time(), "duration_s": time.time() - started,
        "exit_code": code, "status": RunStatus.PASSED if code == ExitCode.OK else RunStatus.ABORTED if code == ExitCode.ABORTED else RunStatus.FAILED,
        "repeat": repeat, "runs": rows,
    }
    if matrix:
        summary["rows"] = matrix_rows(rows)
    if attached is not None:
        summary["target"] = attached.name
        summary["applicability"] = findings(rows, table)
    write_json(suite_dir / SUMMARY_FILE, summary)
    from cachechaos.report.outputs import write_suite_outputs

    write_suite_outputs(suite_dir, summary)
    return RunOutcome(suite_dir, summary)  # a suite's directory holds its runs' directories
