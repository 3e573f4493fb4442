"""What a game day runs: a traffic section, criteria and halt guards, as one experiment of one long phase.

The game day is an experiment whose faults come by hand: `gameday_experiment` builds the
ExperimentSpec the runner already knows (the same traffic model, criteria and judging), with a
single phase `gameday` long enough for any game day; stopping ends it early.

    # --traffic FILE (the experiment format's traffic section)
    traffic:
      shape: {kind: arrival, rate_per_s: 200}

    # --criteria FILE
    criteria:
      - {check: error_rate, max: 0.01}
    halt_if:
      - {metric: error_rate, max: 0.2, for_s: 10}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from cachechaos.checks.criteria import Criterion
from cachechaos.experiment.model import ExperimentSpec
from cachechaos.traffic.spec import TrafficSpec
from cachechaos.yamlmodel import Strict, load_yaml, parse_model

PHASE = "gameday"
MAX_S = 12 * 3600.0  # the longest game day: its load processes' safety net is set from it
DEFAULT_TRAFFIC: dict[str, Any] = {"users": 40, "shape": {"kind": "arrival", "rate_per_s": 100}}

LiveMetric = Literal["error_rate", "p99_ms", "p50_ms", "stale_read_rate", "dropped_per_s"]


class HaltGuard(Strict):
    """Heal every fault when a live figure stays beyond its bound this long (Gremlin's halt conditions)."""

    metric: LiveMetric = Field(description="a live figure of the dashboard, over its last few seconds")
    max: float = Field(description="the guard holds when the figure is above this ...")
    for_s: float = Field(10.0, ge=0, description="... for this many seconds in a row")
    name: str | None = Field(None, description="shown on the page and in the report")

    @property
    def label(self) -> str:
        return self.name or f"{self.metric} > {self.max:g} for {self.for_s:g} s"


class TrafficFile(Strict):
    traffic: TrafficSpec = Field(default_factory=lambda: TrafficSpec.model_validate(DEFAULT_TRAFFIC))


class CriteriaFile(Strict):
    criteria: list[Criterion] = Field(default_factory=list, description="judged over the whole game day at its stop")
    halt_if: list[HaltGuard] = Field(default_factory=list, description="watched live; heal everything when one holds")


def _read(model: type[Strict], path: Path | None) -> Any:
    if path is None:
        return model()
    data, node = load_yaml(path)
    return parse_model(model, data or {}, path, node)


def gameday_experiment(traffic: Path | None, criteria: Path | None, seed: int = 42) -> tuple[ExperimentSpec, list[HaltGuard]]:
    """The experiment a game day runs, and its halt guards; ConfigFileError names a bad file's line."""
    traffic_file: TrafficFile = _read(TrafficFile, traffic)
    criteria_file: CriteriaFile = _read(CriteriaFile, criteria)
    spec = ExperimentSpec.model_validate({
        "name": "gameday", "purpose": "a game day: steady traffic, faults by hand, notes as it unfolds", "seed": seed,
        "traffic": traffic_file.traffic.model_dump(mode="json", exclude_unset=True), "phases": [{"name": PHASE, "duration_s": MAX_S}],
        "criteria": [c.model_dump(exclude_none=True) for c in criteria_file.criteria],
    })
    return spec, criteria_file.halt_if
