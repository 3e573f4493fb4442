"""Run events: the runner publishes, the live view (and any other listener) subscribes."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cachechaos.experiment.events import FaultInjected, PhaseStarted, RunEvents, SampleTaken
from cachechaos.experiment.live import LiveState, LiveView


def test_handlers_get_their_kind_in_order_until_unsubscribed() -> None:
    events = RunEvents()
    seen: list[str] = []
    stop = events.subscribe(FaultInjected, lambda e: seen.append(f"a:{e.fault}"))
    events.subscribe(FaultInjected, lambda e: seen.append(f"b:{e.fault}"))
    events.subscribe(PhaseStarted, lambda e: seen.append(f"phase:{e.phase}"))
    events.publish(FaultInjected("kill", "kill", "fault"))
    stop()
    events.publish(FaultInjected("flush", "flushall", "fault"))
    events.publish(PhaseStarted("baseline", 0, 5.0))
    assert seen == ["a:kill", "b:kill", "b:flush", "phase:baseline"]


def test_the_live_view_follows_the_events(tmp_path: Path) -> None:
    console = Console(record=True, width=120, force_terminal=False)
    state = LiveState("exp", 20.0, ["baseline", "fault"])
    events = RunEvents()
    with LiveView(console, state, tmp_path, enabled=False) as view:
        view.listen(events)
        events.publish(PhaseStarted("fault", 1, 15.0))
        events.publish(FaultInjected("kill", "kill", "fault"))
        events.publish(SampleTaken({"rps": 300}, {"backends": {}}, ("kill",)))
    events.publish(PhaseStarted("after", 2, 1.0))  # the view has closed: no longer listening
    text = console.export_text()
    assert "phase fault (15s)" in text and "inject kill (kill)" in text and "after" not in text
    assert (state.phase, state.phase_index, state.active_faults, state.load) == ("fault", 1, ["kill"], {"rps": 300})


def test_run_finished_reads_its_outcome_from_the_summary(tmp_path: Path) -> None:
    from typing import Any, cast

    from cachechaos.errors import RunStatus
    from cachechaos.experiment.events import RunFinished
    from cachechaos.store.summary import RunSummary

    summary = cast(RunSummary, cast(Any, {"run_id": "r1", "status": "failed", "exit_code": 1, "error": None}))
    event = RunFinished(tmp_path, summary)
    assert (event.run_id, event.status, event.exit_code, event.error) == ("r1", RunStatus.FAILED, 1, None)
