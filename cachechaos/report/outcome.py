"""What a report says first: the run's status and its verdicts, from summary.json or, failing that, re-evaluated.

A run killed before its end leaves no summary.json. Its report is marked INTERRUPTED and the
criteria of the experiment (kept in run.json) are evaluated on whatever was recorded, so the
reader still sees how far the run got; those verdicts are labelled provisional.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from cachechaos.checks.rundata import RunData
from cachechaos.errors import RunStatus
from cachechaos.store.files import read_json
from cachechaos.store.rundir import SUMMARY_FILE


@dataclass
class Outcome:
    status: str                                  # passed | failed | interrupted | error
    detail: str                                  # one line under the banner
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    provisional: bool = False                    # evaluated here on a run that did not finish
    note: str | None = None                      # why there are no verdicts
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def banner(self) -> str:
        return self.status.upper()


def _verdict_dict(v: Any) -> dict[str, Any]:
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)
    return dict(v)


def evaluate_recorded_criteria(run: RunData, run_info: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The experiment's criteria (run.json experiment.spec.criteria) evaluated on the recorded data."""
    raw = (((run_info.get("experiment") or {}).get("spec") or {}).get("criteria"))
    if not raw:
        return [], "run.json holds no criteria to evaluate"
    try:
        from cachechaos.checks.criteria import Criterion, evaluate

        criteria = [Criterion.model_validate(c) for c in raw]
        return [_verdict_dict(v) for v in evaluate(run, criteria)], None
    except Exception as exc:  # the report must still be written: say why there are no verdicts
        return [], f"the criteria could not be evaluated: {type(exc).__name__}: {exc}"


def run_outcome(run_dir: Path, run: RunData | None, run_info: dict[str, Any]) -> Outcome:
    summary = read_json(run_dir / SUMMARY_FILE)
    if summary.get("status"):
        status = RunStatus.of(summary["status"]).banner
        verdicts = [dict(v) for v in summary.get("verdicts") or []]
        failed = sum(1 for v in verdicts if not v.get("passed"))
        if status == "passed":
            detail = f"all {len(verdicts)} criteria met" if verdicts else "no criteria"
        elif status == "failed":
            detail = f"{failed} of {len(verdicts)} criteria not met"
        elif status == "interrupted":
            detail = f"aborted by the operator ({summary.get('error') or 'signal'}); verdicts not evaluated"
        else:
            detail = f"the run ended with an error: {summary.get('error') or 'unknown error'}"
        note = None if verdicts else ("no verdicts: the run did not finish" if status in ("interrupted", "error")
                                      else "the experiment has no criteria")
        return Outcome(status, detail, verdicts, summary=summary, note=note)

    recorded = str(run_info.get("status") or "unknown")
    detail = "the run did not finish (no summary.json)"
    if recorded not in ("running", "unknown"):
        detail += f"; run.json says {recorded}" + (f": {run_info['error']}" if run_info.get("error") else "")
    if run is not None:
        detail += f"; data recorded until t+{run.end - run.start:.0f} s"
    if run is None:
        return Outcome(RunStatus.INTERRUPTED, detail, note="the run directory could not be read", summary={})
    verdicts, note = evaluate_recorded_criteria(run, run_info)
    return Outcome(RunStatus.INTERRUPTED, detail, verdicts, provisional=bool(verdicts), note=note, summary={})
