"""summary.md: the verdicts as Markdown, for a CI job summary or a pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cachechaos.report.junit import fmt_value

_ICON = {True: "✅", False: "❌"}


def run_markdown(summary: Mapping[str, Any]) -> str:
    title = summary["experiment"] + (f" [{summary['variant']}]" if summary.get("variant") else "")
    if summary["status"] == "not_applicable":
        icon = "❌" if summary.get("required") else "⏭️"
        return "\n".join([f"### {icon} {title}: NOT APPLICABLE" + (" (required)" if summary.get("required") else ""), "",
                          f"_{summary.get('purpose', '')}_", "", "To run it, add to the topology:",
                          *(f"- {m}" for m in summary.get("missing") or []), ""]) + "\n"
    title += " (control: faults dry)" if summary.get("cell") == "control" else ""
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
            named = " (mechanism)" if v["name"] == summary.get("detects") else ""
            lines.append(f"| {v['name']}{named} | {v.get('threshold', '')} | {measured} | {_ICON[bool(v['passed'])]} |")
        lines.append("")
    load = summary.get("load")
    if load and not load.get("ok", True):
        lines += ["**The load fell short; every verdict above was judged on it:** " + "; ".join(load["problems"]), ""]
    for name, layers in (summary.get("stale_by_layer") or {}).items():
        lines.append(f"Stale reads by serving layer ({name}): {stale_layers_text(layers)}.")
        lines.append("")
    if summary.get("traffic"):
        lines += [f"Traffic: {summary['traffic']}.", ""]
    if summary.get("notes"):
        lines += ["Notes on the evidence:", *(f"- {note}" for note in summary["notes"]), ""]
    if summary.get("mechanism"):
        cell = " (control: faults journaled, not applied)" if summary.get("cell") == "control" else ""
        lines += [f"Mechanism{cell}: {summary['mechanism']}", ""]
    lines.append(f"Run `{summary['run_id']}`, {summary.get('duration_s') or 0:.0f} s.")
    return "\n".join(lines) + "\n"


def stale_layers_text(layers: dict[str, dict[str, Any]]) -> str:
    """'l1 12 of 300, l2 0 of 900, ...': the stale reads each layer served, of the reads it served."""
    return ", ".join(f"{name} {row.get('stale', 0):,} of {row.get('reads', 0):,}" for name, row in layers.items())


def applicability_markdown(rows: Sequence[Mapping[str, Any]], target: str) -> str:
    """The gate's rows against an attached service: applicable or what to add, and each row's cells."""
    lines = [f"### Rows against {target}", "", "| row | applicable | with faults | control | finding / what to add |",
             "|---|---|---|---|---|"]
    for row in rows:
        what = (row.get("finding") or "; ".join(row.get("missing") or row.get("left_out") or [])).replace("|", r"\|")
        lines.append(f"| {row['experiment']} | {'yes' if row['applicable'] else 'NOT APPLICABLE'} | {row.get('fault') or '-'} "
                     f"| {row.get('control') or '-'} | {what} |")
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, summaries: Sequence[Mapping[str, Any]], title: str | None = None,
                   applicability: Sequence[Mapping[str, Any]] = (), target: str = "") -> None:
    parts = [f"## {title}\n"] if title else []
    if applicability:
        parts.append(applicability_markdown(applicability, target))
    parts += [run_markdown(s) for s in summaries]
    path.write_text("\n".join(parts))
