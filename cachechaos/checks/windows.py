"""Phase and fault windows, rebuilt from the journal's edges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Window:
    """[start, end) in unix seconds. `closed` is False when the end was inferred (no closing edge)."""

    name: str
    start: float
    end: float
    closed: bool = True

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    def closes(self, t: float) -> bool:
        """An interval ending at t (a counter delta closed by a sample at t) falls in this window."""
        return self.start < t <= self.end

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class FaultWindow(Window):
    """One fault from inject to heal; a one-shot fault (FLUSHALL) has an immediate heal."""

    type: str = ""
    phase: str | None = None
    target: str = ""
    ok: bool = True                # the inject succeeded
    error: str | None = None
    one_shot: bool = False         # acts at an instant: recovery is timed from its start


def phase_windows(journal: list[dict[str, Any]], run_end: float) -> list[Window]:
    """Phases in start order. A phase without phase_end ends where the next one starts, else at the run's end."""
    phases: list[Window] = []
    open_name: str | None = None
    open_start = 0.0
    for entry in journal:
        event, t = entry.get("event"), float(entry.get("t", 0.0))
        if event == "phase_start":
            if open_name is not None:
                phases.append(Window(open_name, open_start, t, closed=False))
            open_name, open_start = str(entry.get("phase")), t
        elif event == "phase_end" and open_name is not None and entry.get("phase") == open_name:
            phases.append(Window(open_name, open_start, t))
            open_name = None
    if open_name is not None:
        phases.append(Window(open_name, open_start, max(run_end, open_start), closed=False))
    return phases


def fault_windows(journal: list[dict[str, Any]], run_end: float) -> list[FaultWindow]:
    """Faults in inject order; each inject pairs with the next heal of the same id (none: ends at the run's end)."""
    open_faults: dict[str, dict[str, Any]] = {}
    out: list[tuple[float, FaultWindow]] = []

    def window(inject: dict[str, Any], end: float, closed: bool) -> FaultWindow:
        start = float(inject["t"])
        return FaultWindow(
            name=str(inject.get("fault")), start=start, end=max(end, start), closed=closed,
            type=str(inject.get("type", "")), phase=inject.get("phase"), target=str(inject.get("target", "")),
            ok=bool(inject.get("ok", True)), error=inject.get("error"), one_shot=bool(inject.get("one_shot", False)),
        )

    for entry in journal:
        event = entry.get("event")
        fault_id = str(entry.get("fault"))
        if event == "inject":
            if fault_id in open_faults:  # injected twice without a heal: the first ends at the second
                previous = open_faults.pop(fault_id)
                out.append((previous["t"], window(previous, float(entry["t"]), closed=False)))
            open_faults[fault_id] = entry
        elif event == "heal" and fault_id in open_faults:
            inject = open_faults.pop(fault_id)
            out.append((inject["t"], window(inject, float(entry["t"]), closed=True)))
    for inject in open_faults.values():
        out.append((inject["t"], window(inject, run_end, closed=False)))
    out.sort(key=lambda item: item[0])
    return [w for _, w in out]
