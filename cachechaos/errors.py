"""One vocabulary for how things end: exit codes, the exceptions that carry them, run statuses.

Exit codes are the CI contract (docs/architecture.md, Exit codes): 0 all criteria met, 1 a criterion failed,
2 bad input, 3 the environment could not be brought up, 130 aborted by the operator.
Every exception the toolkit raises on purpose derives from `CachechaosError` and knows
its exit code, so the CLI and the runner map an error to a code in one place.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum, StrEnum
from types import FrameType
from typing import ClassVar


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    ABORTED = 130


class CachechaosError(Exception):
    """The root of the toolkit's own errors."""

    exit_code: ClassVar[ExitCode] = ExitCode.ENVIRONMENT


class BadInput(CachechaosError):
    """A file, an option or an experiment asks for something that cannot be (exit 2)."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentFailure(CachechaosError):
    """The target could not be brought up, reached or restored (exit 3)."""

    exit_code = ExitCode.ENVIRONMENT


class Aborted(CachechaosError):
    """SIGINT/SIGTERM: the operator stopped the run (exit 130)."""

    exit_code = ExitCode.ABORTED

    def __init__(self, signum: int) -> None:
        super().__init__(f"aborted by {signal.Signals(signum).name}")
        self.signum = signum


def _raise_aborted(signum: int, _frame: FrameType | None) -> None:
    raise Aborted(signum)


@contextmanager
def aborting_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Aborted` in the main thread, so teardown runs on the normal path."""
    previous = {sig: signal.signal(sig, _raise_aborted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def deferring_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM are noted (in the list yielded), not raised, while the block runs: a teardown that
    heals the faults and stops what the run started must finish. SIGKILL still stops it; `cachechaos heal`
    then undoes what is left."""
    received: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class RunStatus(StrEnum):
    """Where a run is or how it ended. run.json and the journal's run_end hold RUNNING, FINISHED,
    ABORTED or ERROR; summary.json replaces FINISHED by its verdict, PASSED or FAILED."""

    RUNNING = "running"
    FINISHED = "finished"
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # read back: the record stops without a run_end (a SIGKILL, a crash)
    NOT_APPLICABLE = "not_applicable"  # a gate row the target cannot run: never a pass (cachechaos.applicability)

    @property
    def banner(self) -> RunStatus:
        """What reports show of a summary's status: PASSED, FAILED, INTERRUPTED (an aborted run
        did not finish either) or ERROR (anything else: a summary is never left running)."""
        if self in (RunStatus.ABORTED, RunStatus.INTERRUPTED):
            return RunStatus.INTERRUPTED
        return self if self in (RunStatus.PASSED, RunStatus.FAILED, RunStatus.NOT_APPLICABLE) else RunStatus.ERROR

    @property
    def judged(self) -> bool:
        """Did the run end with verdicts?"""
        return self in (RunStatus.PASSED, RunStatus.FAILED)

    @classmethod
    def of(cls, value: object, default: RunStatus | None = None) -> RunStatus:
        """The status a record names; `default` (else ERROR) for a missing or unknown one."""
        try:
            return cls(str(value))
        except ValueError:
            return default or cls.ERROR
