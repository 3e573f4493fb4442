"""Opening the target an experiment runs against: a local topology brought up, or an external one attached."""

from __future__ import annotations

from pathlib import Path

from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.local import LocalTopology, Progress
from cachechaos.runtime.target import Target
from cachechaos.runtime.topology import TopologySpec

AnyTopologySpec = TopologySpec | ExternalTopologySpec


def target_class(spec: AnyTopologySpec) -> type[LocalTopology] | type[ExternalTarget]:
    """The class that will run `spec`: what capabilities an experiment may ask of it, known before it starts."""
    return ExternalTarget if isinstance(spec, ExternalTopologySpec) else LocalTopology


def open_target(spec: AnyTopologySpec, run_dir: Path, progress: Progress | None = None,
                allow_destructive: bool = False) -> Target:
    """A running Target; raises when it cannot be brought up or reached."""
    if isinstance(spec, ExternalTopologySpec):
        target = ExternalTarget(spec, allow_destructive)
        if progress:
            progress(f"attached to {len(target.endpoints.backends)} external backend(s)")
        return target
    topology = LocalTopology(spec, run_dir, progress=progress)
    topology.up()
    return topology
