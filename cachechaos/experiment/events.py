"""Run events: what the runner publishes as a run goes, for whoever listens.

Locust's `events` and Chaos Toolkit's run event handlers are the model: the runner
says what happened (a phase started, a fault was injected or healed, a sample was
taken, a source went unsampled, the run finished) and does not know who listens.
The run's reporters (junit.xml, summary.md, index.html) listen for RunFinished and the live
view for the rest; a game-day server or a streaming reporter subscribes
the same way (`ExperimentRun.events.subscribe(FaultInjected, handler)`) before
`execute()`. Handlers run on the runner's thread, in subscription order, and must
not raise: a listener is never a reason for a run to fail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cachechaos.errors import RunStatus
from cachechaos.store.summary import RunSummary


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    experiment: str
    phases: tuple[str, ...]
    duration_s: float


@dataclass(frozen=True)
class PhaseStarted:
    phase: str
    index: int
    duration_s: float


@dataclass(frozen=True)
class FaultInjected:
    fault: str
    type: str
    phase: str


@dataclass(frozen=True)
class FaultsHealed:
    """Every fault of a phase healed at its end."""

    phase: str


@dataclass(frozen=True)
class SourceNotSampled:
    source: str
    reason: str


@dataclass(frozen=True)
class SampleTaken:
    """The runner's look at the run, about four times a second: load statistics, the last metrics sample."""

    load: dict[str, Any]
    metrics: dict[str, Any]
    active_faults: tuple[str, ...]


@dataclass(frozen=True)
class PhaseEnded:
    phase: str


@dataclass(frozen=True)
class RunFinished:
    """The verdicts are in `summary.json`; the reporters (junit.xml, summary.md, the HTML report) listen for this."""

    run_dir: Path
    summary: RunSummary

    @property
    def run_id(self) -> str:
        return self.summary["run_id"]

    @property
    def status(self) -> RunStatus:
        return RunStatus.of(self.summary["status"])

    @property
    def exit_code(self) -> int:
        return int(self.summary["exit_code"])

    @property
    def error(self) -> str | None:
        return self.summary["error"]


RunEvent = RunStarted | PhaseStarted | FaultInjected | FaultsHealed | SourceNotSampled | SampleTaken | PhaseEnded | RunFinished
E = TypeVar("E", bound=RunEvent)


class RunEvents:
    """One run's event hooks."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` with every event of `kind`; returns the function that unsubscribes it."""
        self._handlers[kind].append(handler)
        return lambda: self._handlers[kind].remove(handler)

    def publish(self, event: RunEvent) -> None:
        for handler in list(self._handlers[type(event)]):
            handler(event)
