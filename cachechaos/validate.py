"""`cachechaos validate`: experiment, suite and topology files checked without running anything.

For editors, pre-commit hooks and CI: the kind of each file is told from its top-level fields,
and it goes through the same loading path `run`, `gate` and `up` use (an experiment is also
checked against the topology it would run on: every fault's capability, its overrides), so a
file `validate` accepts is one those commands accept. Errors name file, line and field (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cachechaos.errors import BadInput
from cachechaos.yamlmodel import ConfigFileError, load_yaml

Kind = Literal["experiment", "suite", "topology"]

_TOPOLOGY_KEYS = frozenset({"kind", "redis", "postgres", "proxy", "backends", "toxiproxy", "chaos_targets", "images",
                            "docker", "project", "catalog"})


def detect_kind(data: Any) -> Kind | None:
    """Which file format `data` is written in, by its top-level fields; None when none fits."""
    if data is None or data == {}:
        return "topology"  # an empty file (or only comments): what `--topology` reads as every default
    if not isinstance(data, dict):
        return None
    if "phases" in data or "purpose" in data or "criteria" in data:
        return "experiment"
    if "experiments" in data:
        return "suite"
    if _TOPOLOGY_KEYS & set(data):
        return "topology"
    return None


@dataclass(frozen=True)
class Validated:
    path: Path
    kind: Kind
    name: str
    detail: str  # what was checked besides the file itself


def validate_file(path: Path, topology: Path | None = None, gate: bool = False) -> Validated:
    """Check one file as `run`/`gate`/`up` would load it; raises ConfigFileError (or another BadInput).

    A suite is what `gate` runs, so against a service cachechaos attaches to (kind external or
    compose) its rows are bound as `gate --topology` binds them (cachechaos.experiment.binding):
    the sample backend's overrides dropped, links and keys by role, and the rows the topology
    cannot run listed, not rejected. `gate` does the same for a single experiment."""
    data, node = load_yaml(path)
    kind = detect_kind(data)
    if kind is None:
        line = node.start_mark.line + 1 if node is not None else 1
        raise ConfigFileError(path, line, None, "cannot tell what this file is: an experiment has `phases`, a suite "
                              "`experiments`, a topology `kind` (or redis, postgres, backends)")
    if kind == "experiment":
        return _experiment(path, topology, gate)
    if kind == "suite":
        return _suite(path, topology)
    from cachechaos.runtime.topology import load_topology

    spec = load_topology(path)
    return Validated(path, kind, spec.name, f"kind {spec.kind}")


def _experiment(path: Path, topology: Path | None, gate: bool) -> Validated:
    from cachechaos.experiment.model import load_experiment

    spec = load_experiment(path)
    not_applicable: list[str] = []
    cells = check_cells(spec, path, topology, gate, not_applicable)
    return Validated(path, "experiment", spec.name, f"{cells} cell(s) fit their topology" +
                     "".join(f"; not applicable: {line}" for line in not_applicable))


def check_cells(spec: Any, path: Path, topology: Path | None, gate: bool = False,
                not_applicable: list[str] | None = None) -> int:
    """Every cell a gate could run of `spec` (the default, each variant, the control) against its
    topology, as the runner validates it before starting; the number of cells checked.

    With `gate` and a topology cachechaos attaches to, the cells are the bound row's (with its
    faults, and the control); a row the topology cannot run has none, and what it needs goes to
    `not_applicable`. Nothing is probed: the topology's declarations stand for the target."""
    from cachechaos.experiment.runner import ExperimentRun, RunOptions
    from cachechaos.experiment.suite import Cell, attached_topology, gate_row, matrix_cells

    attached = attached_topology(RunOptions(topology=topology)) if gate else None
    cells: list[Cell]
    if attached is not None:
        from cachechaos.applicability import offer_of

        applicability, bound, cells = gate_row(spec, attached, offer_of(attached))
        if bound is None:
            if not_applicable is not None:
                not_applicable.append(f"{spec.name} ({'; '.join(applicability.missing)})")
            return 0
        spec = bound
    else:
        cells = [(None, False)] + (matrix_cells(spec, list(spec.variants)) if spec.variants else [])
    for variant, control in cells:
        ExperimentRun(spec, path, RunOptions(topology=topology, variant=variant, control=control)).validate()
    return len(cells)


def _suite(path: Path, topology: Path | None) -> Validated:
    from cachechaos.experiment.model import load_suite, suite_experiment

    suite = load_suite(path)
    not_applicable: list[str] = []
    for i in range(len(suite.experiments)):
        exp_path, spec = suite_experiment(path, suite, i)
        check_cells(spec, exp_path, topology, True, not_applicable)
    runs = len(suite.experiments) - len(not_applicable)
    return Validated(path, "suite", suite.name, f"{len(suite.experiments)} experiment(s) valid" +
                     (f", {runs} applicable to the topology; not applicable: {', '.join(not_applicable)}"
                      if not_applicable else ""))


def validate_files(paths: list[Path], topology: Path | None = None,
                   gate: bool = False) -> list[tuple[Path, Validated | BadInput]]:
    """Each file's result: what it is, or the error that makes it invalid."""
    results: list[tuple[Path, Validated | BadInput]] = []
    for path in paths:
        try:
            results.append((path, validate_file(path, topology, gate)))
        except BadInput as exc:
            results.append((path, exc))
    return results
