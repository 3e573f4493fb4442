"""The runner prints nothing and survives its listeners: a listener that raises is journaled, never fatal."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from cachechaos.errors import Aborted, ExitCode, RunStatus
from cachechaos.experiment.events import PhaseStarted, Progress, RunEvents, RunFinished, SampleTaken
from cachechaos.experiment.listeners import attach
from cachechaos.experiment.model import load_experiment
from cachechaos.experiment.runner import ExperimentRun, RunOptions

SPEC = {
    "name": "listeners", "purpose": "a run whose listeners raise",
    "target": {"overrides": {"postgres": {"products": 200, "categories": 10}}},
    "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 50},
                "mix": {"browse": 100, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
    "phases": [{"name": "steady", "duration_s": 3}],
    "criteria": [{"check": "error_rate", "max": 0.05}],
}


def test_a_raising_listener_is_logged_and_published_to_the_run_never_raised() -> None:
    heard: list[str] = []
    events = RunEvents(on_failure=heard.append)
    seen: list[str] = []

    def broken(event: PhaseStarted) -> None:
        raise RuntimeError("dashboard went away")

    events.subscribe(PhaseStarted, broken)
    events.subscribe(PhaseStarted, lambda e: seen.append(e.phase))  # the next listener still hears it
    events.publish(PhaseStarted("fault", 1, 5.0))
    assert seen == ["fault"]
    assert len(heard) == 1 and "broken failed on PhaseStarted: RuntimeError: dashboard went away" in heard[0]


def test_an_abort_inside_a_listener_still_aborts_the_run() -> None:
    events = RunEvents(on_failure=lambda _: None)

    def interrupted(event: Progress) -> None:
        raise Aborted(signal.SIGINT)

    events.subscribe(Progress, interrupted)
    with pytest.raises(Aborted, match="SIGINT"):
        events.publish(Progress("hello"))


def test_a_run_whose_listeners_raise_completes_and_its_journal_notes_them(tmp_path: Path) -> None:
    path = tmp_path / "listeners.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    run = ExperimentRun(load_experiment(path), path, RunOptions(reports_dir=tmp_path / "reports", live=False))
    console = Console(file=io.StringIO(), width=200)
    attach(run, console, live=False)

    def broken_sample(event: SampleTaken) -> None:
        raise ValueError("bad sample")

    def broken_end(event: RunFinished) -> None:
        raise OSError("disk full")

    run.events.subscribe(SampleTaken, broken_sample)
    run.events.subscribe(RunFinished, broken_end)
    outcome = run.execute()
    assert outcome.summary["status"] == RunStatus.PASSED and outcome.exit_code == ExitCode.OK, outcome.summary
    journal = [json.loads(line) for line in (outcome.run_dir / "journal.jsonl").read_text().splitlines()]
    failures = [e["text"] for e in journal if e["event"] == "note" and e.get("source") == "listener"]
    assert any("broken_sample failed on SampleTaken: ValueError: bad sample" in t for t in failures)
    assert any("broken_end failed on RunFinished: OSError: disk full" in t for t in failures)
    assert any("bad sample" in n for n in outcome.summary["notes"])
    # The console listener printed the runner's progress, and the reporters (attached first) wrote theirs.
    assert "listeners: a run whose listeners raise" in console.file.getvalue()  # type: ignore[attr-defined]
    assert (outcome.run_dir / "junit.xml").exists() and (outcome.run_dir / "index.html").exists()
