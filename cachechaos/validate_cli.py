"""`cachechaos validate FILE...`: check experiment, suite and topology files without running anything."""

from __future__ import annotations

from pathlib import Path

import click

from cachechaos.errors import ExitCode
from cachechaos.validate import Validated, validate_files


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--topology", "topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Check experiments against this topology file instead of their own target (as `run --topology`).")
@click.option("--gate", "gate", is_flag=True,
              help="Check experiments as `gate --topology` runs them: on a service cachechaos attaches to (kind "
                   "external or compose), each row bound to the topology by role, the rows it cannot run listed as "
                   "not applicable. Suites are always checked this way.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the errors.")
def validate(files: tuple[Path, ...], topology: Path | None, gate: bool, quiet: bool) -> None:
    """Check experiment, suite and topology files (the kind is told from the fields) as `run`, `gate`
    and `up` would load them, without starting anything: an experiment's faults against what its
    topology can do, a suite's experiments and variants.

    Exit 0 when every file is valid, 2 otherwise; each error names file, line and field
    (`experiments/x.yaml:12: phases.1.duration_s: ...`), one per line, for editors and pre-commit hooks.
    """
    from cachechaos.checklist import resolve

    bad = 0
    for path, result in validate_files([resolve(f) for f in files], resolve(topology) if topology else None, gate):
        if isinstance(result, Validated):
            if not quiet:
                click.echo(f"ok {path}: {result.kind} {result.name} ({result.detail})")
        else:
            bad += 1
            message = str(result)
            click.echo(f"error: {message if message.startswith(str(path)) else f'{path}: {message}'}", err=True)
    raise SystemExit(ExitCode.BAD_INPUT if bad else ExitCode.OK)
