"""summary.md: the verdicts as Markdown, for a CI job summary or a pull-request comment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachechaos.report.junit import fmt_value

_ICON = {True: "✅", False: "❌"}


def run_markdown(summary: dict[str, Any]) -> str:
    title = summary["experiment"] + (f" [{summary['variant']}]" if summary.get("variant") else "")
    lines = [
        f"### {_ICON[summary['status'] == 'passed']} {title}: {summary['status'].upper()}",
        "",
        f"_{summary.get('purpose', '')}_",
        "",
    ]
    if summary.get("error"):
        lines += [f"**Error:** {summary['error']}", ""]
    verdicts = summary.get("verdicts", [])
    if verdicts:
        lines += ["| criterion | required | measured | result |", "|---|---|---|---|"]
        for v in verdicts:
            measured = f"{fmt_value(v.get('measured'))} {v.get('unit', '')}".strip()
            lines.append(f"| {v['name']} | {v.get('threshold', '')} | {measured} | {_ICON[bool(v['passed'])]} |")
        lines.append("")
    load = summary.get("load")
    if load and not load.get("ok", True):
        lines += ["**The load fell short; every verdict above was judged on it:** " + "; ".join(load["problems"]), ""]
    lines.append(f"Run `{summary['run_id']}`, {summary.get('duration_s') or 0:.0f} s.")
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, summaries: list[dict[str, Any]], title: str | None = None) -> None:
    parts = [f"## {title}\n"] if title else []
    parts += [run_markdown(s) for s in summaries]
    path.write_text("\n".join(parts))
