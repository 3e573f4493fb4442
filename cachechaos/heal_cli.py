"""`cachechaos heal RUN_DIR...`: undo what a killed toolkit (or a failed heal) left applied on the target."""

from __future__ import annotations

from pathlib import Path

import click

from cachechaos.errors import ExitCode
from cachechaos.heal import RedisAuth, describe, heal_run, redis_auth
from cachechaos.store.rundir import JOURNAL_FILE


@click.command("heal")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--topology", "topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The run's topology file, for the passwords of its Redis nodes (a run directory holds none).")
def heal(run_dirs: tuple[Path, ...], topology: Path | None) -> None:
    """Replay the heal of every fault of RUN_DIR (a run, or a suite's runs) whose heal is not in the journal.

    Before every change a fault makes, the journal records how to undo it (the Redis CONFIG values
    read just before, the toxic added, the proxy disabled, the compose project's container paused, cut
    off its network or killed); this puts each back and journals the
    heal, so a second `heal` finds nothing to do. `run` does it by itself for earlier runs on the
    same target. Exit 0 when nothing is left applied, 2 when RUN_DIR is not a run directory,
    3 when a node could not be reached to undo a change.
    """
    auth: RedisAuth = {}
    if topology is not None:
        from cachechaos.checklist import resolve
        from cachechaos.runtime.topology import load_topology
        from cachechaos.yamlmodel import ConfigFileError

        try:
            auth = redis_auth(load_topology(resolve(topology)).model_dump(mode="json"))
        except ConfigFileError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(ExitCode.BAD_INPUT) from None
    failed = False
    for run_dir in run_dirs:
        runs = [run_dir] if (run_dir / JOURNAL_FILE).is_file() else sorted(p.parent for p in run_dir.glob(f"*/{JOURNAL_FILE}"))
        if not runs:
            click.echo(f"error: {run_dir}: not a run directory (no {JOURNAL_FILE}, nor runs of a suite in it)", err=True)
            raise SystemExit(ExitCode.BAD_INPUT)
        for run in runs:
            result = heal_run(run, auth)
            failed = failed or bool(result.failed)
            for line in describe(result):
                click.echo(line)
    raise SystemExit(ExitCode.ENVIRONMENT if failed else ExitCode.OK)
