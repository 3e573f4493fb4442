"""Everything a finished (or crashed) run leaves besides its raw record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachechaos.report.junit import write_junit
from cachechaos.report.markdown import write_markdown


def write_run_outputs(run_dir: Path, summary: dict[str, Any]) -> None:
    write_junit(run_dir / "junit.xml", [summary])
    write_markdown(run_dir / "summary.md", [summary])


def write_suite_outputs(suite_dir: Path, summary: dict[str, Any]) -> None:
    runs = summary["runs"]
    write_junit(suite_dir / "junit.xml", runs)
    write_markdown(suite_dir / "summary.md", runs, title=f"cachechaos suite {summary['suite']}: {summary['status'].upper()}")
