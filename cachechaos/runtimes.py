"""Which runtime runs a topology, and opening the target an experiment runs against: a local
topology brought up, one in Docker containers, an external one attached, or a user's compose
project attached.

Above both `runtime` (processes, external systems) and `docker` (containers), which import
`runtime` for the node definitions: neither may import the other back.
"""

from __future__ import annotations

from pathlib import Path

from cachechaos.docker.compose import ComposeTarget
from cachechaos.docker.target import DockerTopology
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.local import LocalTopology, Progress
from cachechaos.runtime.target import Target
from cachechaos.runtime.topology import AnyTopologySpec, DockerTopologySpec, TopologySpec

__all__ = ["AnyTopologySpec", "open_target", "target_class", "topology_for"]


def target_class(spec: AnyTopologySpec) -> type[LocalTopology] | type[DockerTopology] | type[ExternalTarget] | type[ComposeTarget]:
    """The class that will run `spec`: what capabilities an experiment may ask of it, known before it starts."""
    if isinstance(spec, ExternalTopologySpec):
        return ExternalTarget
    if isinstance(spec, ComposeTopologySpec):
        return ComposeTarget
    return DockerTopology if isinstance(spec, DockerTopologySpec) else LocalTopology


def topology_for(spec: TopologySpec, run_dir: Path, progress: Progress | None = None) -> LocalTopology | DockerTopology:
    """The topology cachechaos runs for `spec`, not yet up."""
    if isinstance(spec, DockerTopologySpec):
        return DockerTopology(spec, run_dir, progress=progress)
    return LocalTopology(spec, run_dir, progress=progress)


def open_target(spec: AnyTopologySpec, run_dir: Path, progress: Progress | None = None,
                allow_destructive: bool = False) -> Target:
    """A running Target; raises when it cannot be brought up or reached."""
    if isinstance(spec, ExternalTopologySpec):
        target = ExternalTarget(spec, allow_destructive)
        if progress:
            progress(f"attached to {len(target.endpoints.backends)} external backend(s)")
        return target
    if isinstance(spec, ComposeTopologySpec):
        return ComposeTarget(spec, allow_destructive, progress)
    topology = topology_for(spec, run_dir, progress)
    topology.up()
    return topology
