"""`cachechaos heal RUN_DIR...`: undo what a killed toolkit (or a failed heal) left applied on the target."""

from __future__ import annotations

from pathlib import Path

import click

from cachechaos.errors import ExitCode
from cachechaos.heal import describe, heal_run
from cachechaos.store.rundir import JOURNAL_FILE


@click.command("heal")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
def heal(run_dirs: tuple[Path, ...]) -> None:
    """Replay the heal of every fault of RUN_DIR (a run, or a suite's runs) whose heal is not in the journal.

    Before every change a fault makes, the journal records how to undo it (the Redis CONFIG values
    read just before, the toxic added, the proxy disabled); this puts each back and journals the
    heal, so a second `heal` finds nothing to do. `run` does it by itself for earlier runs on the
    same target. Exit 0 when nothing is left applied, 2 when RUN_DIR is not a run directory,
    3 when a node could not be reached to undo a change.
    """
    failed = False
    for run_dir in run_dirs:
        runs = [run_dir] if (run_dir / JOURNAL_FILE).is_file() else sorted(p.parent for p in run_dir.glob(f"*/{JOURNAL_FILE}"))
        if not runs:
            click.echo(f"error: {run_dir}: not a run directory (no {JOURNAL_FILE}, nor runs of a suite in it)", err=True)
            raise SystemExit(ExitCode.BAD_INPUT)
        for run in runs:
            result = heal_run(run)
            failed = failed or bool(result.failed)
            for line in describe(result):
                click.echo(line)
    raise SystemExit(ExitCode.ENVIRONMENT if failed else ExitCode.OK)
