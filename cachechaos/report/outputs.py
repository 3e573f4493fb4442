"""Everything a finished (or crashed) run leaves besides its raw record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from cachechaos.report.html import build_run_report, build_suite_report
from cachechaos.report.junit import write_junit
from cachechaos.report.markdown import write_markdown
from cachechaos.store.summary import RunSummary, SuiteSummary


def write_run_outputs(run_dir: Path, summary: RunSummary) -> None:
    write_junit(run_dir / "junit.xml", [summary])
    write_markdown(run_dir / "summary.md", [summary])
    _html(build_run_report, run_dir)


def _html(build: Callable[[Path], Path], directory: Path) -> None:
    # The HTML report is for people; a failure to draw it must not change a verdict or an exit code.
    try:
        build(directory)
    except Exception as exc:
        logging.getLogger(__name__).warning("could not build the HTML report of %s: %s", directory, exc)


def write_suite_outputs(suite_dir: Path, summary: SuiteSummary) -> None:
    runs = summary["runs"]
    write_junit(suite_dir / "junit.xml", runs)
    write_markdown(suite_dir / "summary.md", runs, title=f"cachechaos suite {summary['suite']}: {summary['status'].upper()}",
                   applicability=summary.get("applicability") or [], target=str(summary.get("target") or ""))
    _html(build_suite_report, suite_dir)
