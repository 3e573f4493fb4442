"""Fixtures of the Docker runtime's tests: a real engine, the offline images, topologies in containers.

Every test here needs an answering engine and is skipped, with the reason, when none answers. The
images are built once per session (`images build --offline`, reused by content key across sessions
too). Whatever a test starts carries its run's labels; the session ends by checking that nothing
labelled is left, and removes it if so, failing the session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from cachechaos.docker import images, labels
from cachechaos.docker.engine import connect, engine_answers
from cachechaos.docker.sweep import sweep
from cachechaos.docker.target import DockerTopology
from cachechaos.runtime.topology import DockerTopologySpec
from tests.docker.compose_project import example_project

TEST_RUN_PREFIX = "t"  # run ids of topologies the tests start in-process


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = engine_answers()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"Docker tests skipped: {reason}")
    for item in items:
        if "tests/docker/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def _labelled_runs(client: docker.DockerClient) -> dict[str, str]:
    """Every labelled container, network and volume on the engine, by name, with its run."""
    found = {c.name: c.labels.get(labels.RUN, "") for c in client.containers.list(ignore_removed=True, all=True, filters=labels.run_filter())}
    found.update({n.name: (n.attrs.get("Labels") or {}).get(labels.RUN, "") for n in client.networks.list(filters=labels.run_filter())})
    found.update({v.name: (v.attrs.get("Labels") or {}).get(labels.RUN, "") for v in client.volumes.list(filters=labels.run_filter())})
    return found


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    """The engine; at the end of the session nothing labelled that the session made may be left."""
    client = connect(timeout=900)
    before = _labelled_runs(client)  # someone else's run, e.g. a topology left up by hand, is not ours to judge
    yield client
    leftovers = {name: run for name, run in _labelled_runs(client).items() if name not in before}
    for run in set(leftovers.values()):
        sweep(client, run)
    client.close()
    assert not leftovers, f"Docker tests left these behind: {sorted(leftovers)}"


@pytest.fixture(scope="session")
def offline_images(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> images.ImageSet:
    """The offline images, built when missing (a few minutes the first time, then reused)."""
    if os.geteuid() != 0:
        pytest.skip("the offline base image is made with debootstrap, which needs root")
    return images.build(engine, "offline", lambda _m: None, tmp_path_factory.mktemp("image-logs"))


def docker_spec(**sections: Any) -> DockerTopologySpec:
    """A small docker topology: 500 products, offline images, the given sections merged in."""
    data: dict[str, Any] = {"kind": "docker", "images": {"source": "offline"}, "postgres": {"products": 500},
                            "backends": {"instances": 0}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return DockerTopologySpec.model_validate(data)


_runs = 0


def test_run_id() -> str:
    global _runs
    _runs += 1
    return f"{TEST_RUN_PREFIX}{os.getpid()}x{_runs}"


test_run_id.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def docker_topology_factory(offline_images: images.ImageSet, tmp_path: Path) -> Iterator[Callable[..., DockerTopology]]:
    """Fresh topologies in containers, all removed after the test (labels make sure of it)."""
    started: list[DockerTopology] = []

    def factory(**sections: Any) -> DockerTopology:
        topo = DockerTopology(docker_spec(**sections), tmp_path / f"docker-{len(started)}", run_id=test_run_id())
        started.append(topo)
        topo.up()
        return topo

    yield factory
    for topo in started:
        topo.down()


@pytest.fixture(scope="module")
def project(engine: docker.DockerClient, offline_images: images.ImageSet, request: pytest.FixtureRequest) -> Iterator[str]:
    """The example compose project (targets/compose), up with the offline image in every service, one per
    test module (named after it); down -v at the end."""
    module = request.module.__name__.rsplit(".", 1)[-1].replace("_", "")
    try:
        with example_project(engine, offline_images.toolkit, f"cc{os.getpid()}{module}") as name:
            yield name
    except LookupError as exc:
        pytest.skip(str(exc))
