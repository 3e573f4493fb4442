"""`cachechaos report RUN_DIR`: (re)build the HTML report of a run or a suite from its directory alone."""

from __future__ import annotations

from pathlib import Path

import click

from cachechaos.errors import ExitCode
from cachechaos.report.html import build_run_report, build_suite_report
from cachechaos.report.rundirs import describe_problem, is_run_dir, is_suite_dir


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
def report(run_dir: Path) -> None:
    """Build RUN_DIR/index.html from a run directory (reports/<run-id>) or a suite directory.

    Works on finished, failed, crashed and killed runs; a run without summary.json is marked
    interrupted and its criteria are evaluated on what was recorded. Prints the report's path.
    """
    if is_suite_dir(run_dir):
        path = build_suite_report(run_dir)
    elif is_run_dir(run_dir):
        path = build_run_report(run_dir)
    else:
        click.echo(f"error: {describe_problem(run_dir)}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT)
    click.echo(str(path))
