"""What the operator sees while a run goes: phase, elapsed, req/s, hit rate, p99, stale reads, active faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from cachechaos.checks.stale_stream import StaleStream
from cachechaos.errors import Aborted
from cachechaos.experiment.events import (
    FaultInjected,
    FaultsHealed,
    PhaseStarted,
    RunEvents,
    SampleTaken,
    SourceNotSampled,
)
from cachechaos.history.columns import HistoryTail


@dataclass
class LiveState:
    experiment: str
    total_s: float
    phases: list[str]
    phase: str = "starting"
    phase_index: int = 0
    started: float = field(default_factory=time.monotonic)
    active_faults: list[str] = field(default_factory=list)
    load: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    stale: tuple[int, int] | None = None  # (stale reads at window 0, reads) so far
    stale_recent: tuple[int, int] | None = None  # the same among reads of the newest 10 s judged

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _hit_rate(metrics: dict[str, Any], layer: str) -> float | None:
    hits = requests = 0.0
    for backend in metrics.get("backends", {}).values():
        samples = backend.get("metrics", {})
        hits += samples.get(f'cache_hits_total{{layer="{layer}"}}', 0.0)
        requests += samples.get(f'cache_requests_total{{layer="{layer}"}}', 0.0)
    return hits / requests if requests else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render(state: LiveState) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    load = state.load
    l1, l2 = _hit_rate(state.metrics, "l1"), _hit_rate(state.metrics, "l2")
    stale = "-" if not state.stale else f"{state.stale[0]:,} of {state.stale[1]:,} reads ({state.stale[0] / max(1, state.stale[1]):.2%})"
    if state.stale and state.stale_recent:
        stale += f", newest 10 s: {state.stale_recent[0] / max(1, state.stale_recent[1]):.2%}"
    table.add_row("experiment", state.experiment)
    table.add_row("phase", f"{state.phase} ({state.phase_index + 1}/{len(state.phases)})")
    table.add_row("elapsed", f"{state.elapsed:5.1f}s of {state.total_s:.0f}s")
    dropped = f", [red]{load['dropped']:,} arrivals dropped[/]" if load.get("dropped") else ""
    table.add_row("load", f"{load.get('rps', 0):,.0f} req/s, {load.get('requests', 0):,} requests, "
                          f"{load.get('errors', 0):,} errors{dropped}")
    table.add_row("p50 / p99", f"{load.get('p50_ms', 0):.1f} / {load.get('p99_ms', 0):.1f} ms")
    table.add_row("hit rate", f"L1 {_pct(l1)}  L2 {_pct(l2)}")
    table.add_row("stale reads", stale)
    table.add_row("active faults", ", ".join(state.active_faults) or "none")
    return table


class LiveView:
    """A rich Live panel on a terminal; one progress line every 10 s elsewhere (CI logs)."""

    def __init__(self, console: Console, state: LiveState, run_dir: Path, enabled: bool = True) -> None:
        self.console = console
        self.state = state
        self.run_dir = run_dir
        self.enabled = enabled
        self._live: Live | None = None
        self._last_line = 0.0
        self._tail: HistoryTail | None = None
        self._stale = StaleStream()
        self._stale_at = 0.0
        self._stale_every = 1.0
        self._unsubscribe: list[Callable[[], None]] = []

    def listen(self, events: RunEvents) -> None:
        """Follow a run through its events until the view closes."""
        self._unsubscribe += [
            events.subscribe(PhaseStarted, self._phase_started),
            events.subscribe(FaultInjected, lambda e: self.event(f"inject {e.fault} ({e.type})")),
            events.subscribe(FaultsHealed, lambda e: self.event(f"healed faults of {e.phase}")),
            events.subscribe(SourceNotSampled,
                             lambda e: self.event(f"[yellow]not sampled[/]: {escape(e.source)}: {escape(e.reason)}")),
            events.subscribe(SampleTaken, self._sample_taken),
        ]

    def _phase_started(self, e: PhaseStarted) -> None:
        self.state.phase, self.state.phase_index = e.phase, e.index
        self.event(f"phase [bold]{e.phase}[/] ({e.duration_s:.0f}s)")

    def _sample_taken(self, e: SampleTaken) -> None:
        self.state.active_faults, self.state.load, self.state.metrics = list(e.active_faults), e.load, e.metrics
        self.refresh()

    def __enter__(self) -> LiveView:
        if self.enabled and self.console.is_terminal:
            self._live = Live(render(self.state), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._tail is not None:
            self._tail.close()
        if self._live is not None:
            self._live.update(render(self.state))
            self._live.__exit__(None, None, None)

    def event(self, message: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", highlight=False)

    def refresh(self) -> None:
        self._maybe_count_stale()
        if self._live is not None:
            self._live.update(render(self.state))
        elif self.enabled and time.monotonic() - self._last_line >= 10:
            self._last_line = time.monotonic()
            s, load = self.state, self.state.load
            self.console.print(
                f"  [{s.elapsed:5.1f}s] {s.phase}: {load.get('rps', 0):,.0f} req/s, p99 {load.get('p99_ms', 0):.1f} ms, "
                f"{load.get('errors', 0):,} errors, {load.get('dropped', 0):,} dropped, "
                f"faults: {', '.join(s.active_faults) or 'none'}",
                highlight=False,
            )

    def _maybe_count_stale(self) -> None:
        # Once a second at most, the records appended since the last time: the cost follows the
        # request rate, not the length of the run.
        if time.monotonic() - self._stale_at < self._stale_every:
            return
        self._stale_at = time.monotonic()
        try:
            if self._tail is None:
                self._tail, self._stale = HistoryTail(self.run_dir), StaleStream()
            self._stale.add(self._tail.read_new())
            self.state.stale = (self._stale.stale, self._stale.reads)
            self.state.stale_recent = self._stale.recent
        except Aborted:  # the operator's Ctrl-C, raised by the signal handler wherever it lands
            raise
        except Exception:  # the live view must never break a run
            pass
