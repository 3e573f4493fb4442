"""Writing real run directories for the checker tests: history via HistoryWriter, journal via Journal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachechaos.history import HistoryWriter, Layer, Op
from cachechaos.store.files import write_json
from cachechaos.store.journal import Journal

T0 = 1_700_000_000.0  # runs start at a realistic unix time so float precision is what it is in production


@dataclass
class RunDirBuilder:
    path: Path
    run: dict[str, Any] = field(default_factory=lambda: {"run_id": "test", "status": "finished"})
    ops: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def op(self, invoke: float, complete: float, op: Op, key: int, version: int, layer: Layer = Layer.NONE,
           status: int = 200, client: int = 0, process: str = "load-0") -> RunDirBuilder:
        self.ops.append((process, (T0 + invoke, T0 + complete, int(op), key, version, int(layer), status, client)))
        return self

    def read(self, at: float, key: int, version: int, layer: Layer = Layer.L2, status: int = 200,
             took: float = 0.001, **kw: Any) -> RunDirBuilder:
        return self.op(at, at + took, Op.READ, key, version, layer, status, **kw)

    def write(self, invoke: float, complete: float, key: int, version: int, status: int = 200,
              op: Op = Op.WRITE, **kw: Any) -> RunDirBuilder:
        return self.op(invoke, complete, op, key, version, Layer.NONE, status, **kw)

    def event(self, at: float, event: str, **fields: Any) -> RunDirBuilder:
        self.events.append({"t": T0 + at, "event": event, **fields})
        return self

    def phases(self, *spans: tuple[str, float, float]) -> RunDirBuilder:
        for name, start, end in spans:
            self.event(start, "phase_start", phase=name).event(end, "phase_end", phase=name)
        return self

    def fault(self, fault_id: str, inject: float, heal: float | None, type_: str = "flushall") -> RunDirBuilder:
        self.event(inject, "inject", fault=fault_id, type=type_, phase="fault", target="redis-1", params={}, ok=True)
        if heal is not None:
            self.event(heal, "heal", fault=fault_id, type=type_, phase="fault", target="redis-1", params={}, ok=True)
        return self

    def sample(self, at: float, **sections: Any) -> RunDirBuilder:
        self.samples.append({"t": T0 + at, **sections})
        return self

    def write_dir(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / "run.json", self.run)
        journal = Journal(self.path / "journal.jsonl")
        for entry in sorted(self.events, key=lambda e: e["t"]):
            # Journal stamps time.time(); a `t` field overrides it, which is what a test needs.
            journal.write(**entry)
        journal.close()
        with open(self.path / "metrics.jsonl", "w") as out:
            for sample in self.samples:
                out.write(json.dumps(sample) + "\n")
        writers: dict[str, HistoryWriter] = {}
        for process, (invoke, complete, op, key, version, layer, status, client) in self.ops:
            if process not in writers:
                writers[process] = HistoryWriter(self.path / "history" / f"{process}.hist")
            writers[process].record(invoke, complete, op, key, version, layer, status, client)
        for w in writers.values():
            w.close()
        return self.path
