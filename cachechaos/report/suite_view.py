"""The suite report's content: one row per run, and the scorecard of experiments by variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachechaos.checks.expectation import detected
from cachechaos.errors import RunStatus
from cachechaos.report import fmt
from cachechaos.report.rundirs import is_run_dir
from cachechaos.store.files import read_json
from cachechaos.store.rundir import RUN_FILE, SUMMARY_FILE

DEFAULT_VARIANT = "default"


def headline(run: dict[str, Any]) -> str:
    """The one figure that says most about a run: its first failed verdict, else its first verdict."""
    if run.get("missing"):
        return "not applicable: " + "; ".join(run["missing"])
    verdicts = run.get("verdicts") or []
    if not verdicts:
        return str(run.get("error") or "no verdicts")[:160]
    v = next((v for v in verdicts if not v.get("passed")), verdicts[0])
    unit = v.get("unit", "")
    return f"{v.get('name')}: {fmt.measured(v.get('measured'), unit)} (required {fmt.threshold(v.get('threshold'), unit)})"


def _rows_from_runs(suite_dir: Path) -> list[dict[str, Any]]:
    """A suite killed before its summary: each run's own summary.json, or its run.json if it was cut short."""
    rows: list[dict[str, Any]] = []
    for child in sorted(p for p in suite_dir.iterdir() if p.is_dir() and is_run_dir(p)):
        summary = read_json(child / SUMMARY_FILE)
        if not summary:
            info = read_json(child / RUN_FILE)
            experiment = info.get("experiment") or {}
            summary = {"run_id": info.get("run_id", child.name), "experiment": experiment.get("name", child.name),
                       "variant": experiment.get("variant"), "purpose": experiment.get("purpose"),
                       "status": "aborted", "error": "interrupted: no summary.json", "verdicts": [],
                       "started_at": info.get("started_at")}
        row = {**summary, "run_dir": child.name}
        row["detected"] = detected(row)
        rows.append(row)
    rows.sort(key=lambda r: r.get("started_at") or 0)
    return rows


def suite_view(suite_dir: Path) -> dict[str, Any]:
    summary = read_json(suite_dir / SUMMARY_FILE)
    complete = bool(summary.get("runs") is not None and summary.get("status"))
    runs = list(summary.get("runs") or []) if complete else _rows_from_runs(suite_dir)
    rows = []
    for run in runs:
        status = RunStatus.of(run.get("status")).banner
        run_dir = str(run.get("run_dir") or run.get("run_id") or "")
        rows.append({
            "experiment": run.get("experiment", "?"), "variant": run.get("variant"),
            "variant_label": (run.get("variant") or DEFAULT_VARIANT) + (" (control)" if run.get("cell") == "control" else ""),
            "purpose": run.get("purpose") or "",
            "status": status, "expect": run.get("expect"), "detected": run.get("detected"),
            "headline": headline(run), "duration_s": run.get("duration_s"), "exit_code": run.get("exit_code"),
            # A row the target could not run has no run directory: its line is in the applicability table.
            "link": f"{run_dir}/index.html" if run_dir else "#applicability",
            "has_report": bool(run_dir) and (suite_dir / run_dir / "index.html").is_file(),
            "verdicts": run.get("verdicts") or [], "run_dir": run_dir,
        })
    experiments = list(dict.fromkeys(r["experiment"] for r in rows))
    variants = list(dict.fromkeys(r["variant_label"] for r in rows))
    cells = {(r["experiment"], r["variant_label"]): r for r in rows}
    scorecard = [{"experiment": e, "purpose": next((r["purpose"] for r in rows if r["experiment"] == e), ""),
                  "cells": [cells.get((e, v)) for v in variants]} for e in experiments]
    if complete:
        status = RunStatus.of(summary.get("status")).banner
        detail = (f"{sum(1 for r in rows if r['status'] == 'passed')} of {len(rows)} runs passed"
                  + (f"; {sum(1 for r in rows if r['detected'] is True)} of "
                     f"{sum(1 for r in rows if r['detected'] is not None)} verdicts as expected"
                     if summary.get("matrix") else ""))
    else:
        status, detail = RunStatus.INTERRUPTED, f"the suite did not finish (no summary.json); {len(rows)} run(s) found"
    return {
        "suite": summary.get("suite") or suite_dir.name, "description": summary.get("description") or "",
        "matrix": bool(summary.get("matrix")) or len(variants) > 1, "run_id": summary.get("run_id") or suite_dir.name,
        "status": status, "detail": detail, "duration_s": summary.get("duration_s"),
        "started_at": summary.get("started_at") or (runs[0].get("started_at") if runs else None),
        "exit_code": summary.get("exit_code"), "rows": rows, "variants": variants, "scorecard": scorecard,
        "matrix_rows": _matrix_rows(summary.get("rows") or []), "repeat": summary.get("repeat") or 1,
        "applicability": summary.get("applicability") or [], "target": summary.get("target") or "",
    }


def _matrix_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The three-cell rows of a matrix summary, with each cell's range and margin as text."""
    return [{
        "experiment": row.get("experiment"), "criterion": row.get("criterion"), "mechanism": row.get("mechanism"),
        "trigger": row.get("trigger"),
        "ok": row.get("ok"), "missing": row.get("missing") or [],
        "cells": {kind: [{"text": fmt.matrix_cell_text(c), "ok": c.get("ok")} for c in row.get("cells") or []
                         if c.get("cell") == kind] for kind in ("wrong", "right", "control", "gate")},
    } for row in rows]
