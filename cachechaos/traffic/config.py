"""The JSON file that configures one load process (written by the runner, read by the worker)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cachechaos.adapters.model import AdapterSpec
from cachechaos.store.files import write_text_atomically
from cachechaos.traffic.spec import TrafficSpec


class CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: int = Field(ge=1)
    categories: int = Field(ge=1)
    users: int = Field(ge=1)


class ProcessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="process name = history file stem")
    index: int = Field(ge=0, description="this process's index among spec.processes")
    spec: TrafficSpec
    catalog: CatalogModel
    backends: list[str] = Field(min_length=1, description="base URLs; every request picks one")
    history_path: Path
    stats_path: Path
    start_at: float = Field(description="unix time the run's shape timeline starts at (shared by all processes); "
                                        "replaced by the go file's time when go_path is set")
    go_path: Path | None = Field(None, description="when set, the process says it is ready (ready_path) once it has "
                                                   "booted, then waits for this file: the common start time as text")
    ready_path: Path | None = Field(None, description="touched when the process has booted (with go_path)")
    duration_s: float = Field(gt=0, description="the shape ends the load here (relative to start_at)")
    run_time_s: float = Field(gt=0, description="safety net: the process quits this long after it started, whatever happens")
    seed: int = Field(description="seed of this process (derived from spec.seed and index)")
    adapter: AdapterSpec | None = Field(None, description="the topology's adapter: how requests map onto the service's API")
    rates_path: Path | None = Field(None, description="an open model's live rate changes (traffic.rate_steps), when "
                                                      "its driver may change the rate during the run")

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, self.model_dump_json(indent=2))

    def wait_for_go(self, timeout_s: float = 60.0, poll_s: float = 0.002) -> ProcessConfig:
        """Say this process is ready, then wait for the common start time (a no-op without go_path).

        Python and Locust take most of a second to import; arrivals scheduled from the moment the
        processes were spawned would be sent late in a burst. So every process boots first, and the
        run starts once all of them are ready.
        """
        if self.go_path is None:
            return self
        if self.ready_path is not None:
            self.ready_path.parent.mkdir(parents=True, exist_ok=True)
            self.ready_path.touch()
        deadline = time.monotonic() + timeout_s
        while not self.go_path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no start signal ({self.go_path}) within {timeout_s:.0f} s")
            time.sleep(poll_s)
        return self.model_copy(update={"start_at": float(self.go_path.read_text())})

    @classmethod
    def read(cls, path: Path) -> ProcessConfig:
        return cls.model_validate_json(Path(path).read_text())
