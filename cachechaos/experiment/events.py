"""Run events: what the runner publishes as a run goes, for whoever listens.

Locust's `events` and Chaos Toolkit's run event handlers are the model: the runner
says what happened (a phase started, a fault was injected or healed, a sample was
taken, a source went unsampled, the run finished) and does not know who listens.
The runner prints nothing: what it has to say goes out as Progress. The console lines, the live
view and the run's reporters (junit.xml, summary.md, index.html) attach through one function
(`cachechaos.experiment.listeners.attach`); a game-day server or a streaming reporter subscribes
the same way (`run.events.subscribe(FaultInjected, handler)`) before `execute()`. Handlers run on
the runner's thread, in subscription order. A handler that raises is logged and reported to the
run (which journals it) and the next handler runs: a listener is never a reason for a run to fail.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cachechaos.errors import Aborted, RunStatus
from cachechaos.store.summary import RunSummary


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    experiment: str
    phases: tuple[str, ...]
    duration_s: float


@dataclass(frozen=True)
class Progress:
    """Something the runner has to say: bringing the target up, a note, a warning."""

    text: str
    level: str = "info"  # title | info | note | warning


@dataclass(frozen=True)
class TrafficStopped:
    """The last phase ended and the load stopped; final reads and verdicts follow."""


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
class FaultHealed:
    """One fault healed on its own: by hand, at the end of its `--for`, or by a halt guard (a game day)."""

    fault: str
    why: str


@dataclass(frozen=True)
class NoteAdded:
    """A line the operator wrote down during the run (a game day's `cachechaos note`)."""

    text: str


@dataclass(frozen=True)
class RateChanged:
    """The open model's arrival rate changes `at_s` seconds after the load's start."""

    rate_per_s: float
    at_s: float


@dataclass(frozen=True)
class Halted:
    """A halt guard held: every fault was healed."""

    guard: str
    reason: str


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


RunEvent = (RunStarted | Progress | PhaseStarted | FaultInjected | FaultsHealed | FaultHealed | NoteAdded | RateChanged
            | Halted | SourceNotSampled | SampleTaken | PhaseEnded | TrafficStopped | RunFinished)
E = TypeVar("E", bound=RunEvent)
ListenerFailed = Callable[[str], None]

log = logging.getLogger(__name__)


def _name(handler: Callable[..., Any]) -> str:
    owner = getattr(getattr(handler, "__self__", None), "__class__", None)
    return f"{owner.__name__}.{handler.__name__}" if owner else getattr(handler, "__qualname__", repr(handler))


class RunEvents:
    """One run's event hooks. `on_failure` hears, in a sentence, of every listener that raised."""

    def __init__(self, on_failure: ListenerFailed | None = None) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self.on_failure = on_failure

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` with every event of `kind`; returns the function that unsubscribes it."""
        self._handlers[kind].append(handler)
        return lambda: self._handlers[kind].remove(handler)

    def publish(self, event: RunEvent) -> None:
        for handler in list(self._handlers[type(event)]):
            try:
                handler(event)
            except Aborted:  # Ctrl-C or SIGTERM arrived while a listener ran: the run's, not the listener's
                raise
            except Exception as exc:  # as Locust's EventHook and Chaos Toolkit's handlers: logged, never fatal
                message = f"listener {_name(handler)} failed on {type(event).__name__}: {type(exc).__name__}: {exc}"
                log.warning(message, exc_info=True)
                if self.on_failure is not None:
                    self.on_failure(message)
