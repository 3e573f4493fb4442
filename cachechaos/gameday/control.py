"""Commands from the control API, carried to the game day's main thread.

Faults are injected and healed on the runner's thread only: the scheduler's list of active
faults, the journal's order of edges and Ctrl-C (raised in the main thread) all assume one
thread. The server's handler threads queue a command and wait for its answer.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

ANSWER_TIMEOUT_S = 60.0  # a restart fault's inject returns once the instances are back


class CommandError(Exception):
    """A command the game day refused: bad input (400) or a state that does not allow it (409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Command:
    kind: str  # add_fault | heal | heal_all | note | rate | stop
    args: dict[str, Any]
    answer: Future[Any] = field(default_factory=Future)


class Commands:
    def __init__(self) -> None:
        self._queue: queue.Queue[Command] = queue.Queue()

    def submit(self, kind: str, **args: Any) -> Any:
        """Queue a command and wait for the main thread's answer (raises what the command raised)."""
        command = Command(kind, args)
        self._queue.put(command)
        return command.answer.result(timeout=ANSWER_TIMEOUT_S)

    def next(self, timeout: float) -> Command | None:
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def refuse_pending(self, why: str) -> None:
        while True:
            try:
                command = self._queue.get_nowait()
            except queue.Empty:
                return
            command.answer.set_exception(CommandError(why, 409))
