"""Every fault in the catalog, injected and healed through a proxy that answers as Toxiproxy 2.1.4.

The topology's fault proxy runs in `compat: "2.1"`: no PATCH route (a bare
404), plain-text /version, no reset_peer. Each fault's effect is checked
while it is on and gone after its heal, and the proxy's log must show no
request it had to refuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from cachechaos.experiment.scheduler import FaultScheduler
from cachechaos.faults import REGISTRY, FaultContext, FaultParams
from cachechaos.faults.bulk_discount import BulkDiscountParams
from cachechaos.faults.container_faults import PauseParams
from cachechaos.faults.expire_keys import ExpireKeysParams
from cachechaos.faults.link import DownParams, LatencyParams, TimeoutParams
from cachechaos.faults.process_faults import KillParams, RestartBackendsParams, RestartParams
from cachechaos.faults.redis_faults import FlushallParams, MemoryPressureParams, RedisConfigParams
from cachechaos.faults.sentinel_faults import PartitionParams, SentinelFailoverParams
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.target import missing_capabilities
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import read_jsonl
from tests.conftest import make_spec

Check = Callable[[LocalTopology, dict[str, Any]], None]


@pytest.fixture(scope="module")
def old_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTopology]:
    spec = make_spec(products=200, backends={"instances": 2, "own_links": True}, proxy={"compat": "2.1"})
    with LocalTopology(spec, tmp_path_factory.mktemp("compat-topology")) as topo:
        yield topo


def _ping(topo: LocalTopology, link: str, timeout: float = 1.0) -> float:
    """Seconds for a PING on a fresh connection through the proxied link."""
    host, port = split_address(topo.endpoints.redis[link])
    with redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout) as r:
        start = time.perf_counter()
        r.ping()
        return time.perf_counter() - start


def _unreachable(topo: LocalTopology, link: str) -> None:
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        _ping(topo, link, timeout=0.5)


def _admin(topo: LocalTopology, node: str = "redis-1") -> redis.Redis:
    return topo.redis_admin(node)


def _then(_setup: object, params: FaultParams) -> FaultParams:
    """The params, once the setup expression before them has run (lambdas hold one expression)."""
    return params


def _nothing(topo: LocalTopology, details: dict[str, Any]) -> None:
    pass


# Catalog order matters only to keep the topology whole: faults that move the
# primary (sentinel_failover) come last.
CASES: dict[str, tuple[Callable[[LocalTopology], FaultParams], Check, Check]] = {
    "latency": (
        lambda t: LatencyParams(link="redis-1", latency_ms=150),
        lambda t, d: _assert(_ping(t, "redis-1") >= 0.15),
        lambda t, d: _assert(_ping(t, "redis-1") < 0.1),
    ),
    "timeout": (
        lambda t: TimeoutParams(link="redis-2", timeout_ms=0),
        lambda t, d: _unreachable(t, "redis-2"),
        lambda t, d: _assert(_ping(t, "redis-2") < 0.5),
    ),
    "down": (
        lambda t: DownParams(link="redis-2"),
        lambda t, d: _unreachable(t, "redis-2"),
        lambda t, d: _assert(_ping(t, "redis-2") < 0.5),
    ),
    "partition": (
        lambda t: PartitionParams(node="replica", backends_cut=0.5),
        lambda t, d: _assert(len(d["links_cut"]) > 1 and not any(_enabled(t, link) for link in d["links_cut"])),
        lambda t, d: _assert(all(_enabled(t, link) for link in d["links_cut"])),
    ),
    "expire_keys": (
        lambda t: _then(_admin(t).set("compat:doomed", "1"), ExpireKeysParams(keys=["compat:doomed"])),
        _nothing,
        lambda t, d: _assert(_admin(t).exists("compat:doomed") == 0),
    ),
    "bulk_discount": (
        lambda t: BulkDiscountParams(categories=[1], percent=10),
        _nothing,
        lambda t, d: _assert(d["products_updated"] > 0 and d["failed_requests"] == 0),
    ),
    "flushall": (
        lambda t: _then(_admin(t).set("compat:flushed", "1"), FlushallParams()),
        _nothing,
        lambda t, d: _assert(_admin(t).dbsize() == 0),
    ),
    "redis_config": (
        lambda t: RedisConfigParams(node="redis-1", settings={"maxmemory-policy": "allkeys-random"}),
        lambda t, d: _assert(_admin(t).config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-random"),
        lambda t, d: _assert(_admin(t).config_get("maxmemory-policy")["maxmemory-policy"] != "allkeys-random"),
    ),
    "memory_pressure": (
        lambda t: _then(_admin(t).mset({f"compat:blob:{i}": "x" * 2000 for i in range(300)}),
                        MemoryPressureParams(node="redis-1", keep_fraction=0.5)),
        lambda t, d: _assert(int(_admin(t).config_get("maxmemory")["maxmemory"]) > 0),
        lambda t, d: _assert(_admin(t).config_get("maxmemory")["maxmemory"] == "0"),
    ),
    "restart_backends": (
        lambda t: RestartBackendsParams(),
        _nothing,
        lambda t, d: _assert(all(httpx.get(f"{b}/health", timeout=5).status_code == 200
                                 for b in t.endpoints.backends.values())),
    ),
    "pause": (
        # SIGSTOP locally: the port still accepts (the kernel's backlog), nothing answers.
        lambda t: PauseParams(node="replica"),
        lambda t, d: _unreachable(t, "redis-2"),
        lambda t, d: _wait(lambda: _ping(t, "redis-2") < 0.5, "paused replica answering again"),
    ),
    "kill": (
        lambda t: KillParams(node="replica"),
        lambda t, d: _assert(not t.node(d["node"]).running),
        lambda t, d: _wait(lambda: _ping(t, "redis-2") < 0.5, "killed replica back"),
    ),
    "restart": (
        lambda t: RestartParams(node="replica"),
        _nothing,
        lambda t, d: _wait(lambda: _ping(t, "redis-2") < 0.5, "restarted replica back"),
    ),
    "sentinel_failover": (
        # The replica was killed just before: Sentinel promotes only one it sees healthy again.
        lambda t: _then(_wait(lambda: _replicas_healthy(t), "Sentinels see the replica"), SentinelFailoverParams()),
        _nothing,
        lambda t, d: _wait(lambda: _admin(t, d["old_primary"]).info("replication")["role"] == "slave",
                           "old primary demoted"),
    ),
}


def _assert(condition: bool) -> None:
    assert condition


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def _replicas_healthy(topo: LocalTopology) -> bool:
    host, port = split_address(topo.endpoints.sentinels[0])
    with redis.Redis(host=host, port=port, socket_timeout=2, decode_responses=True) as sentinel:
        replicas = sentinel.sentinel_slaves(topo.endpoints.master_name)
    return bool(replicas) and all(r["flags"] == "slave" and r["master-link-status"] == "ok" for r in replicas)


def _enabled(topo: LocalTopology, link: str) -> bool:
    with topo.proxy_client() as client:
        return client.get_proxy(link).enabled


def test_the_cases_are_the_whole_catalog() -> None:
    # Every fault a local topology can do (disconnect needs containers: tests/docker).
    local = {name for name, fault in REGISTRY.items() if not missing_capabilities(LocalTopology, fault.requires)}
    assert set(CASES) == local and "kill" in local and "disconnect" not in local


def test_the_topology_proxy_answers_as_2_1_4(old_topology: LocalTopology) -> None:
    with old_topology.proxy_client() as client:
        assert client.version() == "2.1.4"
    response = httpx.patch(f"{old_topology.endpoints.proxy_api}/proxies/redis-1", json={"enabled": True})
    assert (response.status_code, response.text) == (404, "404 page not found\n")
    assert "as Toxiproxy 2.1.4 (compat 2.1)" in old_topology.fault_proxy.log_path.read_text()


@pytest.mark.parametrize("fault_type", list(CASES))
def test_fault_is_injected_and_healed_through_the_2_1_api(
    old_topology: LocalTopology, tmp_path: Path, fault_type: str
) -> None:
    make_params, during, after = CASES[fault_type]
    journal_path = tmp_path / "journal.jsonl"
    scheduler = FaultScheduler(FaultContext(old_topology, run_dir=tmp_path, catalog_categories=10),
                               Journal(journal_path))
    log = old_topology.fault_proxy.log_path
    refused_before = log.read_text().count("no route for")
    fault = scheduler.inject(make_params(old_topology), "fault")
    try:
        details = next(e for e in read_jsonl(journal_path) if e["event"] == "inject")["details"]
        if not fault.one_shot:
            during(old_topology, details)
    finally:
        assert scheduler.heal_all() == []
    after(old_topology, details)
    edges = [(e["event"], e["type"], e["ok"]) for e in read_jsonl(journal_path) if e["event"] in ("inject", "heal")]
    assert edges == [("inject", fault_type, True), ("heal", fault_type, True)]
    with old_topology.proxy_client() as client:
        proxies = client.proxies().values()
        assert all(p.enabled and not p.toxics for p in proxies), [p for p in proxies if p.toxics or not p.enabled]
    # The PATCH probe of the test above is the only refusal the log may hold.
    assert log.read_text().count("no route for") == refused_before
