"""The detection matrix: one row per experiment, three cells per row, margins over repeats.

A row names the criterion aimed at its mechanism. Its cells:

    wrong   the wrong configuration with the fault (or trigger): that criterion must FAIL
    right   each right configuration with the fault: every criterion must PASS
    control the wrong configuration with the fault dry and the trigger removed: that criterion
            must PASS, which proves the fault is what exposes the bug

Over repeated runs each cell has a range of the named criterion's measurement, and a
margin: how far its worst run sits from the threshold on the side it must be on
(positive: every run on that side; negative: some run crossed it).
"""

from __future__ import annotations

from typing import Any

from cachechaos.checks.expectation import detected, named_verdict

WRONG, RIGHT, CONTROL, GATE = "wrong", "right", "control", "gate"


def cell_kind(run: dict[str, Any]) -> str:
    if run.get("cell") == "control":
        return CONTROL
    if run.get("expect") == "fail":
        return WRONG
    return RIGHT if run.get("variant") else GATE


def _distance(value: float, bounds: dict[str, float | None], must_pass: bool) -> float:
    """Signed distance of `value` to the bounds: positive when it is where the cell needs it."""
    lo, hi = bounds.get("min"), bounds.get("max")
    if must_pass:
        return min(d for d in ((hi - value) if hi is not None else None,
                               (value - lo) if lo is not None else None, float("inf")) if d is not None)
    return max(d for d in ((value - hi) if hi is not None else None,
                           (lo - value) if lo is not None else None, float("-inf")) if d is not None)


def _judged(run: dict[str, Any]) -> dict[str, Any] | None:
    """The verdict a cell is measured by: the named criterion's, else the run's first failed or first verdict."""
    named = named_verdict(run)
    if named is not None:
        return named
    verdicts = run.get("verdicts") or []
    return next((v for v in verdicts if not v.get("passed")), verdicts[0] if verdicts else None)


def summarize_cell(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Range, margin and count of expected verdicts of one cell's runs (same experiment, variant and cell)."""
    kind = cell_kind(runs[0])
    verdicts = [_judged(r) for r in runs]
    values = [v["measured"] for v in verdicts if v and isinstance(v.get("measured"), int | float)]
    first = next((v for v in verdicts if v), None)
    bounds = {"max": first.get("max"), "min": first.get("min")} if first else {}
    margin = None
    if values and (bounds.get("max") is not None or bounds.get("min") is not None):
        margin = min(_distance(x, bounds, kind != WRONG) for x in values)
    as_expected = sum(1 for r in runs if detected(r) is True)
    return {
        "cell": kind, "variant": runs[0].get("variant"), "runs": len(runs), "as_expected": as_expected,
        "ok": as_expected == len(runs), "criterion": first.get("name") if first else None,
        "threshold": first.get("threshold") if first else None, "unit": first.get("unit", "") if first else "",
        "range": [min(values), max(values)] if values else None, "unmeasured": len(runs) - len(values),
        "margin": margin, "run_dirs": [r.get("run_dir") for r in runs],
    }


def matrix_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs of a matrix suite grouped into rows (experiments) of cells (variant x fault/control)."""
    rows: dict[str, dict[str, Any]] = {}
    cells: dict[tuple[str, str | None, str], list[dict[str, Any]]] = {}
    for run in runs:
        exp = str(run.get("experiment", "?"))
        rows.setdefault(exp, {"experiment": exp, "mechanism": run.get("mechanism"), "criterion": run.get("detects"),
                              "trigger": run.get("trigger"), "purpose": run.get("purpose") or ""})
        cells.setdefault((exp, run.get("variant"), cell_kind(run)), []).append(run)
    order = {WRONG: 0, RIGHT: 1, CONTROL: 2, GATE: 3}
    for exp, row in rows.items():
        row["cells"] = sorted((summarize_cell(rs) for (e, _, _), rs in cells.items() if e == exp),
                              key=lambda c: order[c["cell"]])
        kinds = {c["cell"] for c in row["cells"]}
        # A row with a wrong configuration proves nothing without its control.
        row["missing"] = [CONTROL] if WRONG in kinds and CONTROL not in kinds else []
        row["ok"] = all(c["ok"] for c in row["cells"]) and not row["missing"]
    return list(rows.values())
