"""The topology in containers on the real engine, and the container faults on it.

One topology serves the module: each test first asks Sentinel which node is primary now.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from redis.sentinel import Sentinel

from cachechaos.docker.images import ImageSet
from cachechaos.docker.target import DockerTopology
from cachechaos.faults import FaultContext, build_fault
from cachechaos.faults.container_faults import DisconnectParams, PauseParams
from cachechaos.faults.process_faults import KillParams
from cachechaos.runtime.ports import split_address
from tests.docker.conftest import docker_spec, test_run_id


@pytest.fixture(scope="module")
def topo(offline_images: ImageSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerTopology]:
    topology = DockerTopology(docker_spec(backends={"instances": 1}), tmp_path_factory.mktemp("docker"), run_id=test_run_id())
    try:
        topology.up()
        yield topology
    finally:
        topology.down()


def _sentinel_client(topo: DockerTopology) -> Sentinel:
    return Sentinel([split_address(a) for a in topo.endpoints.sentinels], socket_timeout=1.0, socket_connect_timeout=1.0)


def _wait_for(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def _role(topo: DockerTopology, node: str) -> str:
    with topo.redis_admin(node) as r:
        return str(r.info("replication")["role"])


def _rejoined_as_replica(topo: DockerTopology, node: str) -> bool:
    with topo.redis_admin(node) as r:
        info = r.info("replication")
    return info["role"] == "slave" and info.get("master_link_status") == "up"


def test_up_every_address_is_proxied(topo: DockerTopology) -> None:
    desc = topo.describe()
    assert desc["runtime"] == "docker" and len(desc["nodes"]) == 8  # proxy, 2 redis, 3 sentinels, postgres, 1 backend
    proxy_ip = split_address(topo.endpoints.proxy_api.removeprefix("http://"))[0]
    # Sentinel hands out the primary's proxied address, which the host reaches as the containers do.
    master = _sentinel_client(topo).discover_master(topo.endpoints.master_name)
    assert master[0] == proxy_ip
    assert master == split_address(topo.endpoints.redis[topo.primary_name() or ""])
    for container in topo.client.containers.list(ignore_removed=True, filters={"label": f"io.cachechaos.run={topo.run_id}"}):
        assert container.labels["io.cachechaos.managed"] == "true"


def test_kill_primary_sentinel_promotes_and_a_client_through_the_proxy_follows(topo: DockerTopology) -> None:
    sentinel = _sentinel_client(topo)
    master = sentinel.master_for(topo.endpoints.master_name, socket_timeout=1.0, socket_connect_timeout=1.0)
    master.set("before", "1")
    fault = build_fault(KillParams(type="kill", node="primary"), FaultContext(target=topo))
    old = fault.inject()["node"]
    assert topo.node(old).status() == "exited"
    # The client follows Sentinel: its writes succeed again once the replica is promoted.
    took = _wait_for(lambda: master.set("after", "1") and topo.primary_name() not in (None, old), 30,
                     "a write through the proxy after the failover")
    new = topo.primary_name()
    assert new != old and _role(topo, new or "") == "master"
    assert sentinel.discover_master(topo.endpoints.master_name) == split_address(topo.endpoints.redis[new or ""])
    assert took < 30
    fault.heal()  # starts the old primary's container again
    _wait_for(lambda: _rejoined_as_replica(topo, old), 30, f"{old} to rejoin as a replica")


def test_pause_primary_past_down_after_then_unpause(topo: DockerTopology) -> None:
    down_after = topo.spec.redis.down_after_ms / 1000
    fault = build_fault(PauseParams(type="pause", node="primary"), FaultContext(target=topo))
    old = fault.inject()["node"]
    assert topo.node(old).status() == "paused"
    _wait_for(lambda: topo.primary_name() not in (None, old), down_after + 20, "Sentinel to fail the paused primary over")
    fault.heal()
    assert topo.node(old).status() == "running"
    # The zombie primary resumes as a master, then Sentinel demotes it and it follows the new one.
    _wait_for(lambda: _rejoined_as_replica(topo, old), 30, f"{old} to rejoin as a replica")
    assert topo.primary_name() != old


def test_disconnect_replica_cuts_it_off_then_reconnects_at_the_same_address(topo: DockerTopology) -> None:
    fault = build_fault(DisconnectParams(type="disconnect", node="replica"), FaultContext(target=topo))
    node = fault.inject()["node"]
    address = topo.node(node).address
    with pytest.raises((redis.RedisError, OSError)), topo.redis_admin(node) as r:
        r.ping()
    fault.heal()
    assert topo.node(node).address == address
    _wait_for(lambda: _rejoined_as_replica(topo, node), 30, f"{node} to sync again after the reconnect")
