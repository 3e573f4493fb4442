"""The JSON file that configures one load process (written by the runner, read by the worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from cachechaos.adapters.model import AdapterSpec
from cachechaos.store.files import write_text_atomically
from cachechaos.traffic.spec import TrafficSpec


class CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: int = Field(ge=1)
    categories: int = Field(ge=1)
    users: int = Field(ge=1)


class _JsonFile(BaseModel):
    """A configuration one process writes for another, as a JSON file."""

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, self.model_dump_json(indent=2))

    @classmethod
    def read(cls, path: Path) -> Self:
        return cls.model_validate_json(Path(path).read_text())


class ProcessConfig(_JsonFile):
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
    go_path: Path | None = Field(default=None, description="unused since the master sends the start time (kept so older run directories still read)")
    ready_path: Path | None = Field(default=None, description="unused, as go_path")
    duration_s: float = Field(gt=0, description="the shape ends the load here (relative to start_at)")
    run_time_s: float = Field(gt=0, description="safety net: the process quits this long after it started, whatever happens")
    seed: int = Field(description="seed of this process (derived from spec.seed and index)")
    adapter: AdapterSpec | None = Field(None, description="the topology's adapter: how requests map onto the service's API")
    rates_path: Path | None = Field(None, description="an open model's live rate changes (traffic.rate_steps), when "
                                                      "its driver may change the rate during the run")


class MasterConfig(_JsonFile):
    """What LoadRun tells the master process (traffic/master.py); the master tells the workers over messages."""

    model_config = ConfigDict(extra="forbid")

    run_dir: Path
    bind: str = Field(description="HOST:PORT the master listens on for workers")
    workers: int = Field(ge=1, description="workers to wait for")
    wait_s: float = Field(gt=0, description="how long to wait for them")
    spec: TrafficSpec
    catalog: CatalogModel
    backends: list[str] = Field(min_length=1)
    duration_s: float = Field(gt=0)
    run_time_s: float = Field(gt=0, description="a worker's safety net (ProcessConfig.run_time_s)")
    adapter: AdapterSpec | None = None
    rates_path: Path | None = None


def parse_address(text: str, default_port: int = 5557) -> tuple[str, int]:
    """HOST:PORT (or HOST alone) as (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    if not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)
