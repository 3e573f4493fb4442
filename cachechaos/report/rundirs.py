"""Telling a run directory from a suite directory (a suite holds its runs as subdirectories)."""

from __future__ import annotations

from pathlib import Path

from cachechaos.errors import BadInput
from cachechaos.store.files import read_json
from cachechaos.store.rundir import JOURNAL_FILE, RUN_FILE, SUMMARY_FILE


class NotARunDirectory(BadInput, ValueError):
    """The directory holds neither a run (run.json / journal.jsonl) nor a suite of runs."""


def is_run_dir(path: Path) -> bool:
    return (path / RUN_FILE).is_file() or (path / JOURNAL_FILE).is_file()


def is_suite_dir(path: Path) -> bool:
    if not path.is_dir() or is_run_dir(path):
        return False
    if isinstance(read_json(path / SUMMARY_FILE).get("runs"), list):
        return True
    return any(child.is_dir() and is_run_dir(child) for child in path.iterdir())


def describe_problem(path: Path) -> str:
    """What to tell a user who pointed `cachechaos report` at the wrong place."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory"
    return (f"{path} is not a run directory: it has no {RUN_FILE} or {JOURNAL_FILE}, and no subdirectory that has "
            f"(runs are written to reports/<run-id>/)")
