"""Opening the target an experiment runs against: a local topology brought up, or an external one attached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachechaos.runtime.external import ExternalTarget, ExternalTopologySpec
from cachechaos.runtime.local import LocalTopology, Progress
from cachechaos.runtime.topology import TopologySpec


def open_target(spec: TopologySpec | ExternalTopologySpec, run_dir: Path, progress: Progress | None = None,
                allow_destructive: bool = False) -> Any:
    """A running Target with close(); raises when it cannot be brought up or reached."""
    if isinstance(spec, ExternalTopologySpec):
        target = ExternalTarget(spec, allow_destructive)
        if progress:
            progress(f"attached to {len(target.endpoints.backends)} external backend(s)")
        return target
    from cachechaos.docker.spec import DockerTopologySpec

    if isinstance(spec, DockerTopologySpec):
        from cachechaos.docker.target import DockerTopology

        docker_topology = DockerTopology(spec, run_dir, progress=progress)
        docker_topology.up()
        return docker_topology
    topology = LocalTopology(spec, run_dir, progress=progress)
    topology.up()
    return topology
