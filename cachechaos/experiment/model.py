"""The experiment file: target, backend configuration, traffic, phases with faults, criteria.

An experiment is data (Chaos Toolkit's lesson): what to run against, what
load, which faults in which phase, and what must hold. `cachechaos schema`
prints the JSON Schema of this model for editors.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from cachechaos.checks.criteria import Criterion
from cachechaos.experiment.scaling import lengthen_observation
from cachechaos.faults import FaultSpec
from cachechaos.traffic.spec import TrafficSpec
from cachechaos.yamlmodel import Strict, load_model, load_yaml, located, parse_model


class PhaseSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    duration_s: float = Field(gt=0, description="length of the phase at scale 1")
    faults: list[FaultSpec] = Field(default_factory=list, description="active from the phase start (+after_s) to its end")


class TargetSpec(Strict):
    topology: str | None = Field(None, description="topology file, relative to the experiment file (default: ./targets/local.yaml, else targets/local.yaml beside the experiment's directory, else built-in defaults)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="deep-merged into the topology, e.g. {redis: {maxmemory: 4mb}}")


class VariantSpec(Strict):
    """A configuration of the same experiment; the matrix runs every variant."""

    expect: Literal["pass", "fail", "report"] = Field("pass", description="what the checks must say about this configuration")
    description: str = ""
    backend: dict[str, Any] = Field(default_factory=dict, description="deep-merged into the experiment's backend configuration")
    topology: dict[str, Any] = Field(default_factory=dict, description="deep-merged into the topology overrides")


class ControlSpec(Strict):
    """The control cell: the wrong configuration with its trigger removed. Faults stay in the
    journal as dry markers (time-anchored criteria still find them) but do not act."""

    variant: str | None = Field(None, description="the wrong configuration (default: the first `expect: fail` variant)")
    traffic: dict[str, Any] = Field(default_factory=dict, description="deep-merged into traffic when the load is the "
                                                                      "trigger, e.g. {mix: {absent: 0}}")


class DetectionSpec(Strict):
    """What a matrix row proves: the criterion aimed at the mechanism, and what triggers it."""

    criterion: str = Field(description="name of the criterion that targets the mechanism; the row is detected only when it fails")
    mechanism: str = Field(description="one line: why the wrong configuration fails")
    trigger: str | None = Field(None, description="what exposes the bug when it is not a fault (e.g. the bulk discount)")
    control: ControlSpec = Field(default_factory=ControlSpec)  # type: ignore[arg-type]


# Checks about what a fault does to reads: without `phase:` they look at the phase holding the
# faults (when one phase does), not at an average diluted by baseline and recovery. `phase: null`
# asks for the whole run.
FAULT_SCOPED_CHECKS = frozenset({"stale_read_rate", "hit_rate", "key_redis_rate", "series_stat"})


class ExperimentSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    purpose: str = Field(description="one line: what this experiment proves")
    scale: float = Field(1.0, gt=0, description="observe this many times longer: multiplies phase lengths, fault "
                                                "after_s and traffic shape timings, never a TTL, fault magnitude, "
                                                "window or bound (docs/scale.md); 1 = CI length")
    seed: int = 42
    target: TargetSpec = Field(default_factory=TargetSpec)  # type: ignore[arg-type]
    backend: dict[str, Any] = Field(default_factory=dict, description="sample backend configuration (strategy, protections), merged into the topology's")
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)  # type: ignore[arg-type]
    phases: list[PhaseSpec] = Field(min_length=1)
    criteria: list[Criterion] = Field(default_factory=list)
    variants: dict[str, VariantSpec] = Field(default_factory=dict)
    detection: DetectionSpec | None = Field(None, description="the matrix row: its mechanism's criterion and control")

    @model_validator(mode="after")
    def _unique_names(self) -> ExperimentSpec:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique: {names}")
        ids: list[str] = []
        counts: dict[str, int] = {}
        for phase in self.phases:
            for fault in phase.faults:
                if fault.id is None:
                    counts[fault.type] = counts.get(fault.type, 0) + 1
                    fault.id = fault.type if counts[fault.type] == 1 else f"{fault.type}-{counts[fault.type]}"
                ids.append(fault.id)
        if len(set(ids)) != len(ids):
            raise ValueError(f"fault ids must be unique: {ids}")
        self._scope_criteria()
        self._check_detection()
        return self

    def _scope_criteria(self) -> None:
        faulted = [p.name for p in self.phases if p.faults]
        if len(faulted) != 1:
            return
        for criterion in self.criteria:
            if criterion.check in FAULT_SCOPED_CHECKS and "phase" not in criterion.params:
                criterion.params["phase"] = faulted[0]

    def _check_detection(self) -> None:
        if self.detection is None:
            return
        labels = [c.label for c in self.criteria]
        if self.detection.criterion not in labels:
            raise ValueError(f"detection.criterion {self.detection.criterion!r} names no criterion; criteria: {labels}")
        wrong = self.detection.control.variant
        if wrong is not None and wrong not in self.variants:
            raise ValueError(f"detection.control.variant {wrong!r} is not a variant; variants: {list(self.variants)}")

    @property
    def control_variant(self) -> str | None:
        """The wrong configuration the control cell runs, when the experiment has one."""
        if self.detection and self.detection.control.variant:
            return self.detection.control.variant
        return next((n for n, v in self.variants.items() if v.expect == "fail"), None)

    def control(self) -> ExperimentSpec:
        """This (variant of the) experiment without its trigger: every fault dry, the control's traffic merged in."""
        data = self.model_dump(mode="json", exclude_unset=True)
        for phase in data["phases"]:
            for fault in phase.get("faults", []):
                fault["dry"] = True
        if self.detection:
            data["traffic"] = deep_merge(data.get("traffic", {}), self.detection.control.traffic)
        return ExperimentSpec.model_validate(data)

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    def scaled(self) -> ExperimentSpec:
        """This experiment at scale 1, observed `scale` times as long: the fields of
        scaling.OBSERVATION_FIELDS multiplied once, every time constant and criterion as written."""
        if self.scale == 1:
            return self
        data = lengthen_observation(self.model_dump(mode="json", exclude_unset=True), self.scale)
        data["scale"] = 1.0
        return ExperimentSpec.model_validate(data)

    def reseeded(self, seed: int) -> ExperimentSpec:
        """This experiment with the load drawn from another random sequence (`traffic.seed`): other ids,
        actions and arrival instants, the same rates, mix and skew."""
        data = self.model_dump(mode="json", exclude_unset=True)
        data.setdefault("traffic", {})["seed"] = seed
        return ExperimentSpec.model_validate(data)

    def variant(self, name: str) -> ExperimentSpec:
        """This experiment with one variant's backend and topology settings merged in."""
        if name not in self.variants:
            raise KeyError(f"experiment {self.name} has no variant {name!r}; variants: {', '.join(self.variants) or 'none'}")
        v = self.variants[name]
        return self.model_copy(deep=True, update={
            "backend": deep_merge(self.backend, v.backend),
            "target": self.target.model_copy(update={"overrides": deep_merge(self.target.overrides, v.topology)}),
            "variants": {},
        })


class SuiteEntry(Strict):
    path: str = Field(description="experiment file, relative to the suite file")
    variants: list[str] | None = Field(None, description="variants to run in a matrix run (default: all)")


class SuiteSpec(Strict):
    name: str
    description: str = ""
    experiments: list[SuiteEntry] = Field(min_length=1)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_experiment(path: Path | str) -> ExperimentSpec:
    """Read and validate an experiment; ConfigFileError names file, line and field."""
    data, node = load_yaml(path)
    spec = parse_model(ExperimentSpec, data, path, node)
    # Backend settings are validated against the backend's own schema now, not at start-up.
    from cachechaos.backend.config import BackendConfig
    from cachechaos.runtime.backend import BACKEND_PLACEHOLDERS

    for prefix, variant in [(("backend",), None)] + [(("variants", n, "backend"), n) for n in spec.variants]:
        backend = spec.variant(variant).backend if variant else spec.backend
        parse_model(BackendConfig, {**BACKEND_PLACEHOLDERS, **backend}, path, node, prefix)
    # What the runner derives from the file (durations scaled, the control cell) must be valid too,
    # or `run` would fail after bringing the target up; an error names the field it came from.
    try:
        derived = [spec] + ([spec.control()] if spec.detection or spec.variants else [])
    except ValidationError as exc:  # the control's traffic, merged from detection.control.traffic
        first = exc.errors()[0]
        raise located(path, ("detection", "control", *first["loc"]), first["msg"]) from None
    for derived_spec in derived:
        if derived_spec.scale != 1:
            data = lengthen_observation(derived_spec.model_dump(mode="json", exclude_unset=True), derived_spec.scale)
            parse_model(ExperimentSpec, data, path, node)
    return spec


def load_suite(path: Path | str) -> SuiteSpec:
    return load_model(SuiteSpec, path)


def suite_experiment(path: Path, suite: SuiteSpec, index: int) -> tuple[Path, ExperimentSpec]:
    """The experiment file and spec entry `index` of `suite` (loaded from `path`) names, with the
    variants it asks for known to exist; errors name the suite's line."""
    entry = suite.experiments[index]
    exp_path = (path.parent / entry.path).resolve()
    try:
        found = exp_path.is_file()
    except OSError as exc:  # a name too long for the file system
        raise located(path, ("experiments", index, "path"), f"no experiment file: {exc.strerror}") from None
    if not found:
        raise located(path, ("experiments", index, "path"), f"no experiment file {exp_path}")
    spec = load_experiment(exp_path)
    unknown = sorted(set(entry.variants or ()) - set(spec.variants))
    if unknown:
        raise located(path, ("experiments", index, "variants"), f"{', '.join(unknown)}: no such variant of "
                      f"{spec.name}; variants: {', '.join(spec.variants) or 'none'}")
    return exp_path, spec
