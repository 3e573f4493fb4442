"""One run's verdicts as a rich table: the CLI prints it, the pytest plugin puts it in a failure message."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from cachechaos.report.junit import fmt_value


def verdict_table(summary: Mapping[str, Any]) -> Table:
    variant = escape(f" [{summary['variant']}]") if summary.get("variant") else ""
    table = Table(title=f"{summary['experiment']}{variant}: {summary['status'].upper()}", title_justify="left")
    for col in ("criterion", "required", "measured", "result"):
        table.add_column(col)
    for v in summary.get("verdicts", []):
        table.add_row(v["name"], str(v.get("threshold", "")), f"{fmt_value(v.get('measured'))} {v.get('unit', '')}",
                      "[green]PASS[/]" if v["passed"] else "[red]FAIL[/]")
    return table


def print_summary(summary: Mapping[str, Any], run_dir: Path) -> None:
    """A finished run as `run` and `gameday stop` print it: verdicts, what was not measured, traffic, notes."""
    from cachechaos.console import err, out

    out.print(verdict_table(summary))
    for v in summary.get("verdicts", []):
        why = (v.get("details") or {}).get("not_measured")
        if why:
            out.print(f"[yellow]{escape(v['name'])} not measured:[/] {escape(why)}", highlight=False)
    if summary.get("traffic"):
        out.print(f"[dim]traffic: {escape(summary['traffic'])}[/]", highlight=False)
    for note in summary.get("notes", []):
        out.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    if summary.get("error"):
        err.print(f"[red]{summary['error']}[/]", highlight=False)
    out.print(f"run directory: {run_dir}", highlight=False)
