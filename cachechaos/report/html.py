"""The self-contained HTML report of a run (`<run_dir>/index.html`) and of a suite.

Built from the run directory alone, so it can be rebuilt for any finished, failed, crashed or
killed run (`cachechaos report RUN_DIR`). One file with everything inline (styles, uPlot, data):
it opens offline and asks no other host for anything.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cachechaos.checks.rundata import RunData
from cachechaos.redact import redact, redact_text
from cachechaos.report import fmt
from cachechaos.report.consistency import consistency_view
from cachechaos.report.environment import environment_view
from cachechaos.report.node_logs import involved_logs
from cachechaos.report.outcome import run_outcome
from cachechaos.report.recovery import recovery_views
from cachechaos.report.render import render, script_json
from cachechaos.report.rundirs import NotARunDirectory, describe_problem, is_run_dir, is_suite_dir
from cachechaos.report.suite_view import suite_view
from cachechaos.report.timelines import OPERATOR_SOURCES, build_timelines
from cachechaos.store.files import read_json, write_text_atomically
from cachechaos.store.rundir import RUN_FILE

REPORT_FILE = "index.html"

__all__ = ["REPORT_FILE", "NotARunDirectory", "build_report", "build_run_report", "build_suite_report"]


def _happened(run: RunData, markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phases, faults and failovers in time order: the story of the run in a few lines."""
    start = run.start
    rows: list[tuple[float, dict[str, Any]]] = []
    for p in run.phases:
        rows.append((p.start, {"when": fmt.offset(p.start, start), "what": f"phase {p.name}", "kind": "phase",
                               "detail": fmt.duration(p.duration) + ("" if p.closed else " (did not end)")}))
    for f in run.faults:
        what = f"fault {f.name}" + (f" ({f.type})" if f.type and f.type != f.name else "")
        target = f" on {f.target}" if f.target else ""
        if not f.ok:
            detail = f"injection failed{target}: {redact_text(f.error or 'unknown error')}"
        elif f.end - f.start < 0.5:
            detail = f"one-shot{target}"
        else:
            detail = (f"{fmt.duration(f.duration)}{target}, healed at {fmt.offset(f.end, start)}" if f.closed
                      else f"{target.strip()}, never healed in the record".strip(", "))
        rows.append((f.start, {"when": fmt.offset(f.start, start), "what": what, "detail": detail, "kind": "fault"}))
    for m in markers:
        if m["kind"] in OPERATOR_SOURCES.values():  # a game day's notes: listed from the journal below
            continue
        t = start - (start % 1) + m["t"]
        rows.append((t, {"when": fmt.offset(t, start), "what": m["label"], "kind": m["kind"],
                         "detail": "Redis role change seen in INFO"}))
    for e in run.journal:
        if e.get("event") == "note":
            what = OPERATOR_SOURCES.get(str(e.get("source")), "note")
            rows.append((e["t"], {"when": fmt.offset(e["t"], start), "what": what, "kind": "note",
                                  "detail": redact_text(str(e.get("message") or e.get("text") or ""))}))
    rows.sort(key=lambda r: r[0])
    return [r for _, r in rows]


def build_run_report(run_dir: Path) -> Path:
    """Write run_dir/index.html and return its path; works on a run without summary.json (interrupted)."""
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise NotARunDirectory(describe_problem(run_dir))
    run_info = read_json(run_dir / RUN_FILE)
    run: RunData | None
    load_error: str | None = None
    try:
        run = RunData.load(run_dir)
    except Exception as exc:  # a damaged record still gets a report that says what is damaged
        run, load_error = None, f"{type(exc).__name__}: {exc}"
    outcome = run_outcome(run_dir, run, run_info)
    summary = outcome.summary
    experiment = run_info.get("experiment") or {}

    charts: list[dict[str, Any]] = []
    annotations: dict[str, Any] = {"faults": [], "phases": [], "markers": []}
    consistency: dict[str, Any] | None = None
    happened: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    if run is not None:
        charts, annotations = build_timelines(run)
        happened = _happened(run, annotations["markers"])
        if len(run.columns):  # not run.history: that would build a Record per operation
            consistency = consistency_view(run)
        if outcome.status != "passed":
            logs = involved_logs(run_dir, [f.target for f in run.faults])
    recovery = recovery_views(outcome.verdicts)

    extra = [c["age_chart"] for c in [consistency or {}] if c.get("age_chart")]
    extra += [r["chart"] for r in recovery if r["chart"]]
    started = summary.get("started_at") or run_info.get("started_at") or (run.start if run else None)
    ended = summary.get("ended_at") or run_info.get("ended_at") or (run.end if run else None)
    duration = summary.get("duration_s")
    if duration is None and started is not None and ended is not None:
        duration = ended - started
    error = summary.get("error") or run_info.get("error") or load_error
    html = render(
        "run.html.j2",
        experiment=summary.get("experiment") or experiment.get("name") or run_dir.name,
        variant=summary.get("variant") or experiment.get("variant"),
        purpose=summary.get("purpose") or experiment.get("purpose"),
        run_id=summary.get("run_id") or run_info.get("run_id") or run_dir.name,
        expect=summary.get("expect"), exit_code=summary.get("exit_code"),
        started_at=started, duration_s=duration, error=redact_text(str(error)) if error else None,
        outcome=outcome, load=summary.get("load"), notes=summary.get("notes") or [], happened=happened, charts=charts, consistency=consistency, recovery=recovery,
        logs=logs, env=environment_view(run_info), generated_at=time.time(),
        data_json=script_json(redact({"annotations": annotations, "charts": charts + extra})),
    )
    return write_text_atomically(run_dir / REPORT_FILE, html)


def build_suite_report(suite_dir: Path) -> Path:
    """Write suite_dir/index.html: a row per run with a link to its report, and the variants' scorecard.

    A run of the suite without its own report (the suite was killed) gets one built here first,
    so every link leads somewhere.
    """
    suite_dir = Path(suite_dir)
    if not is_suite_dir(suite_dir):
        raise NotARunDirectory(describe_problem(suite_dir))
    for child in sorted(p for p in suite_dir.iterdir() if p.is_dir() and is_run_dir(p)):
        if not (child / REPORT_FILE).exists():
            build_run_report(child)
    view = suite_view(suite_dir)
    html = render("suite.html.j2", suite=view, generated_at=time.time(),
                  data_json=script_json({"annotations": None, "charts": []}))
    return write_text_atomically(suite_dir / REPORT_FILE, html)


def build_report(path: Path) -> Path:
    """A suite's or a run's report, whichever `path` holds."""
    path = Path(path)
    return build_suite_report(path) if is_suite_dir(path) else build_run_report(path)
