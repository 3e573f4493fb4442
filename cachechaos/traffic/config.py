"""The JSON file that configures one load process (written by the runner, read by the worker)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cachechaos.files import write_text_atomically
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
    start_at: float = Field(description="unix time the run's shape timeline starts at (shared by all processes)")
    duration_s: float = Field(gt=0, description="the shape ends the load here (relative to start_at)")
    run_time_s: float = Field(gt=0, description="safety net: the process quits this long after it started, whatever happens")
    seed: int = Field(description="seed of this process (derived from spec.seed and index)")

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, self.model_dump_json(indent=2))

    @classmethod
    def read(cls, path: Path) -> ProcessConfig:
        return cls.model_validate_json(Path(path).read_text())
