"""$GITHUB_STEP_SUMMARY: the run's summary.md is appended when the variable names a file, nothing otherwise."""

from __future__ import annotations

from pathlib import Path

from cachechaos.report.markdown import write_markdown
from cachechaos.report.step_summary import append_step_summary


def _summary() -> dict[str, object]:
    return {"experiment": "stampede", "variant": None, "status": "failed", "exit_code": 1, "run_id": "stampede-1",
            "verdicts": [{"name": "peak DB q/s under 2x baseline", "check": "db_amplification", "threshold": "<= 2",
                          "measured": 2.99, "unit": "x", "passed": False}]}


def test_summary_md_is_appended_to_the_job_summary(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_markdown(run_dir / "summary.md", [_summary()])
    job_summary = tmp_path / "step_summary.md"
    job_summary.write_text("earlier step\n")
    assert append_step_summary(run_dir, {"GITHUB_STEP_SUMMARY": str(job_summary)}) == job_summary
    assert append_step_summary(run_dir, {"GITHUB_STEP_SUMMARY": str(job_summary)}) == job_summary
    text = job_summary.read_text()
    assert text.startswith("earlier step\n")
    assert text.count("peak DB q/s under 2x baseline") == 2 and "stampede" in text


def test_nothing_is_written_without_the_variable_or_without_a_summary(tmp_path: Path) -> None:
    assert append_step_summary(tmp_path, {}) is None
    target = tmp_path / "step_summary.md"
    assert append_step_summary(tmp_path, {"GITHUB_STEP_SUMMARY": str(target)}) is None  # no summary.md
    assert not target.exists()
