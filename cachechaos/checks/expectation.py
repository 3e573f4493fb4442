"""Did a run show what was expected of it? Read from its summary (the matrix's and the suite's verdict)."""

from __future__ import annotations

from typing import Any


def named_verdict(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The verdict of the criterion that targets the run's mechanism (`detects`), if it has one."""
    name = summary.get("detects")
    if not name:
        return None
    return next((v for v in summary.get("verdicts") or [] if v.get("name") == name), None)


def detected(summary: dict[str, Any]) -> bool | None:
    """Did the run's verdict match its expectation? None when there is none to match
    (`expect: report`, or a summary written before runs carried one); a run that ended
    without a verdict (aborted, error) did not show what was expected of it.

    With a named mechanism (`detects`) a wrong configuration is detected only when that
    criterion fails on a measurement (a check that raised proves nothing), and a control
    holds when that criterion passes; a right configuration must pass every criterion."""
    expect = summary.get("expect")
    if expect in (None, "report"):
        return None
    if summary.get("status") not in ("passed", "failed"):
        return False
    if summary.get("detects"):
        named = named_verdict(summary)
        if named is None or (named.get("details") or {}).get("error"):
            return False
        if expect == "fail":
            return not named.get("passed")
        if summary.get("cell") == "control":
            return bool(named.get("passed"))
    return (summary["status"] == "passed") == (expect == "pass")
