"""JUnit XML: one test case per criterion, so CI systems show each verdict."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def fmt_value(value: Any) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_junit(path: Path, summaries: Sequence[Mapping[str, Any]]) -> None:
    """`summaries`: one summary.json dict per run (a suite passes several)."""
    suites = ET.Element("testsuites")
    for summary in summaries:
        verdicts = summary.get("verdicts", [])
        name = (summary["experiment"] + (f"[{summary['variant']}]" if summary.get("variant") else "")
                + (" control" if summary.get("cell") == "control" else "")
                + (f" #{summary['repeat']}" if (summary.get("repeat") or 1) > 1 else ""))
        if summary["status"] == "not_applicable":  # a row the target cannot run: skipped, with what it lacks
            na = ET.SubElement(suites, "testsuite", name=name, tests="1", skipped="1", failures="0", errors="0", time="0")
            case = ET.SubElement(na, "testcase", classname=name, name="applicable to the target")
            reason = "not applicable: " + "; ".join(summary.get("missing") or [])
            if summary.get("required"):
                ET.SubElement(case, "failure", message=reason + " (required: --require/--strict)")
            else:
                ET.SubElement(case, "skipped", message=reason)
            continue
        failures = sum(1 for v in verdicts if not v["passed"])
        suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(verdicts) or 1),
                              failures=str(failures), errors="1" if summary["status"] in ("error", "aborted") else "0",
                              time=f"{summary.get('duration_s') or 0:.1f}")
        if summary["status"] in ("error", "aborted"):
            case = ET.SubElement(suite, "testcase", classname=name, name="run")
            ET.SubElement(case, "error", message=summary.get("error") or summary["status"])
        for verdict in verdicts:
            case = ET.SubElement(suite, "testcase", classname=name, name=verdict["name"])
            if not verdict["passed"]:
                message = f"{verdict['name']}: measured {fmt_value(verdict.get('measured'))} {verdict.get('unit', '')}, required {verdict.get('threshold')}"
                failure = ET.SubElement(case, "failure", message=message)
                if verdict.get("details", {}).get("error"):
                    failure.text = str(verdict["details"]["error"])
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
