"""Did the load generators deliver the load the experiment asked for? A pure function of the run's record.

An open-model process's schedule is a function of its seed (and of the rate
changes a game day wrote to load/rates.json: traffic.rate_steps), so it is drawn
again here and compared with what the history shows it sent: arrivals due,
sent, dropped at `max_in_flight`, and missing (due but never sent: the
generator fell behind and the run ended first). The send lag (actual send -
intended send) shows a generator that kept up only late. A run whose load
fell short is flagged, and every verdict judged on it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cachechaos.checks.series import REQUEST_OPS
from cachechaos.checks.stats import percentile
from cachechaos.history.columns import Columns
from cachechaos.history.format import Op
from cachechaos.traffic.arrivals import open_shape
from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.rate_steps import read_steps, stepped_offsets

# A generator that sent less than this share of its due arrivals fell behind.
BEHIND_LIMIT = 0.10
_DROPPED = int(Op.DROPPED)


@dataclass
class ProcessLoad:
    process: str
    due: int | None  # None: closed model (nothing is due at a set time)
    sent: int
    dropped: int
    lag_p50_ms: float | None
    lag_p99_ms: float | None

    @property
    def missing(self) -> int:
        return max(0, (self.due or 0) - self.sent - self.dropped)

    @property
    def behind(self) -> float:
        """Share of due arrivals not sent on time or at all (dropped + missing)."""
        return (self.dropped + self.missing) / self.due if self.due else 0.0


@dataclass
class LoadFidelity:
    model: str  # "open" | "closed"
    processes: list[ProcessLoad] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        due = sum(p.due or 0 for p in self.processes)
        return {
            "model": self.model, "ok": self.ok, "problems": list(self.problems),
            "due": due if self.model == "open" else None,
            "sent": sum(p.sent for p in self.processes),
            "dropped": sum(p.dropped for p in self.processes),
            "missing": sum(p.missing for p in self.processes),
            "processes": [{**asdict(p), "missing": p.missing, "behind": round(p.behind, 4)} for p in self.processes],
        }


def process_configs(run_dir: Path) -> list[ProcessConfig]:
    return [ProcessConfig.read(p) for p in sorted(Path(run_dir).glob("nodes/load-*/traffic.json"))]


def load_fidelity(configs: list[ProcessConfig], history: Columns) -> LoadFidelity | None:
    """What each load process delivered against what it was asked for; None when the run had no load."""
    if not configs:
        return None
    index = {name: i for i, name in enumerate(history.processes)}
    request = history.of_ops(REQUEST_OPS)
    model = "open" if open_shape(configs[0].spec) is not None else "closed"
    out = LoadFidelity(model)
    for cfg in configs:
        # A process's records by mask over the columns, not as objects: a run may hold tens of millions.
        mine = history.process == index[cfg.name] if cfg.name in index else np.zeros(len(history), dtype=bool)
        sent = np.flatnonzero(mine & request)
        dropped = int(np.count_nonzero(mine & (history.op == _DROPPED)))
        invoke, intended = history.invoke[sent], history.intended[sent]
        lags = np.sort((invoke - np.where(intended != 0, intended, invoke)) * 1000.0)
        add_process(out, cfg, len(sent), dropped, lags)
    return out


def add_process(out: LoadFidelity, cfg: ProcessConfig, sent: int, dropped: int,
                lags_ms: Sequence[float] | NDArray[np.float64]) -> None:
    """One process's figures (send lags ascending) and problems; its due arrivals drawn again from its seed."""
    shape = open_shape(cfg.spec)
    due = None
    if shape is not None:
        # A game day's rate changes are steps the process followed: the same schedule, drawn again.
        steps = read_steps(cfg.rates_path) if cfg.rates_path is not None else []
        due = sum(1 for _ in stepped_offsets(shape, cfg.spec.processes, cfg.duration_s, cfg.seed, steps))
    load = ProcessLoad(cfg.name, due, sent, dropped, percentile(lags_ms, 50), percentile(lags_ms, 99))
    out.processes.append(load)
    if load.dropped:
        out.problems.append(f"{cfg.name}: {load.dropped} arrivals dropped: max_in_flight was full")
    if load.due and load.behind > BEHIND_LIMIT:
        out.problems.append(f"{cfg.name}: sent {load.sent} of {load.due} due arrivals on time "
                            f"({load.behind:.0%} behind, more than {BEHIND_LIMIT:.0%})")
