"""The launcher seam: every process of a topology is started through the topology's launcher."""

from __future__ import annotations

from pathlib import Path

from cachechaos.runtime.launcher import LaunchSpec, LocalLauncher
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.process import ManagedProcess

from ..conftest import make_spec


class RecordingLauncher(LocalLauncher):
    """Runs locally, and keeps what it was asked to run (what a container launcher would receive)."""

    def __init__(self) -> None:
        self.specs: list[LaunchSpec] = []

    def launch(self, spec: LaunchSpec) -> ManagedProcess:
        self.specs.append(spec)
        return super().launch(spec)


def test_every_node_goes_through_the_launcher(tmp_path: Path) -> None:
    launcher = RecordingLauncher()
    spec = make_spec(redis={"replicas": 1, "sentinels": 1, "quorum": 1}, backends={"instances": 1})
    with LocalTopology(spec, tmp_path / "topo", launcher=launcher) as topo:
        launched = {s.name: s for s in launcher.specs}
        assert set(topo.nodes) | {"initdb"} == set(launched)
        for name, node in topo.nodes.items():
            s = launched[name]
            assert s.kind == node.kind and s.ports == (node.port,) and s.argv == node.argv()
            # Every path the process is given lives under its node directory (a container bind-mounts it).
            assert s.workdir == node.dir and s.log_path.is_relative_to(node.dir)
            assert node.running, name
        assert launched["postgres"].stop_signal != launched["redis-1"].stop_signal
    assert not any(node.running for node in topo.nodes.values())
