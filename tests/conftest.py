"""Shared fixtures: real topologies (Redis + Sentinel + PostgreSQL + fault proxy) on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.topology import TopologySpec

# Tests need a small catalogue; the default topology seeds 10,000 products.
TEST_PRODUCTS = 2_000


def make_spec(**overrides: Any) -> TopologySpec:
    """A test topology spec; overrides are dotted paths or sections, e.g. products=500, redis={...}."""
    data: dict[str, Any] = {"postgres": {"products": TEST_PRODUCTS}, "backends": {"instances": 0}}
    for key, value in overrides.items():
        if key in ("products", "categories", "users", "stock", "seed"):
            data["postgres"][key] = value
        elif isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return TopologySpec.model_validate(data)


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTopology]:
    """One running default topology shared by the session. Call reseed() after writes."""
    with LocalTopology(make_spec(), tmp_path_factory.mktemp("topology")) as topo:
        yield topo


@pytest.fixture
def topology_factory(tmp_path: Path) -> Iterator[Callable[..., LocalTopology]]:
    """Fresh private topologies for tests that break things; all torn down after the test."""
    started: list[LocalTopology] = []

    def factory(**overrides: Any) -> LocalTopology:
        topo = LocalTopology(make_spec(**overrides), tmp_path / f"topology-{len(started)}")
        started.append(topo)
        topo.up()
        return topo

    yield factory
    for topo in started:
        topo.down()


@pytest.fixture
def hand_started_backend(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """The sample backend started as a user would, outside cachechaos, against a topology's
    Redis and PostgreSQL: attach mode's target. Returns its URL; stopped after the test."""
    import json
    import sys

    import httpx

    from cachechaos.runtime.ports import free_port
    from cachechaos.runtime.process import ManagedProcess, wait_until

    started: list[ManagedProcess] = []

    def start(topo: LocalTopology, strategy: str = "event") -> str:
        ep = topo.endpoints
        port = free_port()
        config = tmp_path / f"backend-{port}.json"
        config.write_text(json.dumps({"strategy": strategy, "sentinels": ep.sentinels, "master_name": ep.master_name,
                                      "postgres_dsn": ep.postgres_dsn}))
        backend = ManagedProcess("backend", [sys.executable, "-m", "cachechaos.backend", "serve", "--config", str(config),
                                             "--port", str(port)], tmp_path / f"backend-{port}.log")
        started.append(backend)
        backend.start()
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, 30, "the hand-started backend", alive=backend)
        return url

    yield start
    for backend in started:
        backend.stop()
