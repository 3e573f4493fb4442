"""Everything a check may look at, loaded once from a run directory.

Checks are pure functions of this object (Jepsen's rule): they never talk to a
live system, so a crashed or interrupted run can be checked like a finished one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cachechaos.checks.series import (
    HISTORY_SERIES,
    METRIC_SERIES,
    SERIES_NAMES,
    Series,
    history_series,
    metric_series,
    stale_series,
)
from cachechaos.checks.staleness import Staleness, StaleRead
from cachechaos.checks.windows import FaultWindow, Window, fault_windows, phase_windows
from cachechaos.errors import RunStatus
from cachechaos.history.clock import clock_uncertainty
from cachechaos.history.columns import Columns, read_columns
from cachechaos.history.format import Op, Record
from cachechaos.store.files import read_json
from cachechaos.store.rundir import JOURNAL_FILE, METRICS_FILE, RUN_FILE, read_jsonl

_FINAL_READ = int(Op.FINAL_READ)


@dataclass
class RunData:
    run_dir: Path
    run: dict[str, Any]                 # run.json
    journal: list[dict[str, Any]]       # journal.jsonl, in time order
    samples: list[dict[str, Any]]       # metrics.jsonl, in time order
    columns: Columns                    # every record, sorted by invoke
    start: float
    end: float
    status: RunStatus                   # finished | aborted | error | interrupted (no run_end)
    phases: list[Window]
    faults: list[FaultWindow]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def clock_uncertainty(self) -> NDArray[np.float64]:
        """Per process (in `columns.processes` order): how far its stamps may be off the master's clock
        (load/clocks.json; 0 for processes on the master's clock)."""
        if "clock_uncertainty" not in self._cache:
            by_name = clock_uncertainty(self.run_dir)
            self._cache["clock_uncertainty"] = np.array([by_name.get(p, 0.0) for p in self.columns.processes],
                                                        dtype=np.float64)
        return self._cache["clock_uncertainty"]

    @classmethod
    def load(cls, run_dir: Path | str) -> RunData:
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise FileNotFoundError(f"{run_dir} is not a run directory")
        return cls.build(
            run=read_json(run_dir / RUN_FILE),
            journal=read_jsonl(run_dir / JOURNAL_FILE),
            samples=read_jsonl(run_dir / METRICS_FILE),
            history=read_columns(run_dir),
            run_dir=run_dir,
        )

    @classmethod
    def build(cls, run: dict[str, Any], journal: list[dict[str, Any]], samples: list[dict[str, Any]],
              history: Columns | list[Record], run_dir: Path | str = ".") -> RunData:
        """A RunData from data already in memory (records need not be sorted; columns are)."""
        journal = sorted((e for e in journal if isinstance(e.get("t"), int | float)), key=lambda e: e["t"])
        samples = sorted((s for s in samples if isinstance(s.get("t"), int | float)), key=lambda s: s["t"])
        columns = history if isinstance(history, Columns) else Columns.from_records(history)
        start, end, status = _bounds(run, journal, samples, columns)
        return cls(
            run_dir=Path(run_dir), run=run, journal=journal, samples=samples, columns=columns,
            start=start, end=end, status=status,
            phases=phase_windows(journal, end), faults=fault_windows(journal, end),
        )

    @property
    def interrupted(self) -> bool:
        return self.status == RunStatus.INTERRUPTED

    # -- windows -------------------------------------------------------------------------------

    def phase(self, name: str) -> Window:
        for w in self.phases:
            if w.name == name:
                return w
        raise ValueError(f"no phase {name!r} in this run; phases: {', '.join(p.name for p in self.phases) or 'none'}")

    def fault(self, fault_id: str) -> FaultWindow:
        for w in self.faults:
            if w.name == fault_id:
                return w
        raise ValueError(f"no fault {fault_id!r} in this run; faults: {', '.join(f.name for f in self.faults) or 'none'}")

    def window(self, name: str) -> Window:
        """A phase by name, else a fault by id (so criteria can say `phase: flushall`)."""
        for w in [*self.phases, *self.faults]:
            if w.name == name:
                return w
        known = [p.name for p in self.phases] + [f"{f.name} (fault)" for f in self.faults]
        raise ValueError(f"no phase or fault {name!r} in this run; known: {', '.join(known) or 'none'}")

    def phase_of(self, t: float) -> str | None:
        for w in self.phases:
            if w.contains(t):
                return w.name
        return None

    # -- records -------------------------------------------------------------------------------

    @property
    def history(self) -> list[Record]:
        """Every record as a `Record`, in invoke order: for readers that want objects. Built on first
        use; the checks read `columns` instead, so that a 72 M-operation run never becomes objects."""
        if "history" not in self._cache:
            self._cache["history"] = self.columns.records()
        history: list[Record] = self._cache["history"]
        return history

    def selected(self, phase: str | None = None, ops: Iterable[int] | None = None) -> Columns:
        """Columns of the records invoked in `phase` (a phase or fault window; None: the whole run)
        with an op in `ops` (None: any), in invoke order."""
        columns = self.columns
        if phase is not None:
            w = self.window(phase)
            columns = columns.between(w.start, w.end)
        if ops is None:
            return columns
        return columns.take(columns.of_ops(ops))

    def records(self, phase: str | None = None, ops: Iterable[int] | None = None) -> list[Record]:
        """Records invoked in `phase` (a phase or fault window; None: the whole run) with an op in `ops` (None: any)."""
        return self.selected(phase, ops).records()

    # -- staleness -----------------------------------------------------------------------------

    def staleness(self) -> Staleness:
        """Every judged read with what makes it stale, if anything (computed once per RunData)."""
        if "staleness" not in self._cache:
            self._cache["staleness"] = Staleness.of(self.columns)
        staleness: Staleness = self._cache["staleness"]
        return staleness

    def stale_reads(self) -> list[StaleRead]:
        """Every read stale at window 0, in invoke order, as objects (the checks use `staleness()`)."""
        if "stale_reads" not in self._cache:
            self._cache["stale_reads"] = self.staleness().stale_reads(self.columns)
        stale: list[StaleRead] = self._cache["stale_reads"]
        return stale

    # -- series --------------------------------------------------------------------------------

    def series(self, name: str) -> Series:
        """A per-second series by name (see cachechaos.checks.series): one of SERIES_NAMES."""
        key = f"series:{name}"
        if key not in self._cache:
            if name in METRIC_SERIES:
                self._cache[key] = metric_series(self.samples, name)
            elif name in HISTORY_SERIES:
                for series_name, values in history_series(self.columns, *self._span()).items():
                    self._cache[f"series:{series_name}"] = values
            elif name in ("stale_reads",):
                self._cache[key] = stale_series(self.staleness().stale_invokes(self.columns), *self._span())
            else:
                raise ValueError(f"unknown series {name!r}; known: {', '.join(SERIES_NAMES)}")
        series: Series = self._cache[key]
        return series


    def series_in(self, name: str, window: str | Window) -> Series:
        """The points of a series that belong to a window: history seconds starting in it, metric
        intervals ending in it (a sample at t reports what happened since the previous one)."""
        w = self.window(window) if isinstance(window, str) else window
        inside = w.closes if name in METRIC_SERIES else w.contains
        return [(t, v) for t, v in self.series(name) if inside(t)]

    def _span(self) -> tuple[float | None, float | None]:
        """The seconds count series fill with zeros: the run's, when anything was recorded at all."""
        if not (self.journal or self.samples or len(self.columns)):
            return None, None
        return self.start, self.end


def _bounds(run: dict[str, Any], journal: list[dict[str, Any]], samples: list[dict[str, Any]],
            history: Columns) -> tuple[float, float, RunStatus]:
    """Run start, end and status. Without a run_end (an interrupted run) the end is the last thing recorded."""
    observed_first: list[float] = []
    observed_last: list[float] = []
    if journal:
        observed_first.append(journal[0]["t"])
        observed_last.append(journal[-1]["t"])
    if samples:
        observed_first.append(samples[0]["t"])
        observed_last.append(samples[-1]["t"])
    if len(history):
        observed_first.append(float(history.invoke[0]))
    # The final reads of the source of truth come after the run; they do not extend it.
    during = history.complete[history.op != _FINAL_READ]
    if len(during):
        observed_last.append(float(during.max()))

    starts = [e["t"] for e in journal if e.get("event") == "run_start"]
    start = starts[0] if starts else _finite(run.get("started_at"))
    if start is None:
        start = min(observed_first, default=0.0)

    ends = [e for e in journal if e.get("event") == "run_end"]
    status = RunStatus.of(ends[-1].get("status", RunStatus.FINISHED) if ends else run.get("status") or RunStatus.INTERRUPTED)
    if status == RunStatus.RUNNING:
        status = RunStatus.INTERRUPTED  # run.json still says running: the toolkit died before writing the end
    end = ends[-1]["t"] if ends else (_finite(run.get("ended_at")) if status != RunStatus.INTERRUPTED else None)
    if end is None:
        end = max(observed_last, default=start)
    return float(start), float(max(end, start)), status


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
