"""One run's verdicts as a rich table: the CLI prints it, the pytest plugin puts it in a failure message."""

from __future__ import annotations

from collections.abc import Mapping
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
