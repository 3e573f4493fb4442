"""summary.json: the verdicts of one run, and of a suite of runs (layout in cachechaos.store.rundir).

Typed for the code that writes and reads them; on disk they stay plain JSON objects, so
`cachechaos report` still reads summaries of older runs that lack newer keys.
"""

from __future__ import annotations

from typing import Any, TypedDict


class RunSummary(TypedDict):
    run_id: str
    experiment: str
    variant: str | None
    purpose: str
    status: str                 # cachechaos.errors.RunStatus: passed | failed | aborted | error
    exit_code: int              # cachechaos.errors.ExitCode
    error: str | None
    expect: str                 # pass | fail | report: what the checks must say of this configuration
    cell: str                   # fault | control
    detects: str | None         # the criterion aimed at the mechanism
    mechanism: str | None
    trigger: str | None
    started_at: float | None
    ended_at: float | None
    duration_s: float
    verdicts: list[dict[str, Any]]   # cachechaos.checks.criteria.Verdict as JSON, plus a `caveat` when judged on short load
    load: dict[str, Any] | None      # load fidelity
    notes: list[str]
    traffic: str                     # the load in one line, defaults marked (TrafficSpec.describe)
    stale_by_layer: dict[str, Any]   # per stale-read criterion: where staleness came from (l1, l2, miss, none)


class SuiteSummary(TypedDict, total=False):
    suite: str
    description: str
    matrix: bool
    run_id: str
    started_at: float
    ended_at: float
    duration_s: float
    exit_code: int
    status: str
    repeat: int
    runs: list[dict[str, Any]]   # every run's RunSummary with run_dir, repeat and detected
    rows: list[dict[str, Any]]   # with matrix: one detection-matrix row per experiment
    target: str                  # gate on an attached service: its topology's name
    applicability: list[dict[str, Any]]  # ... each row: applicable or what is missing, its cells, its finding
