"""The local runtime against real Redis, Sentinel, PostgreSQL and the fault proxy."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
import redis
from redis.sentinel import Sentinel

from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import split_address
from tests.conftest import TEST_PRODUCTS


def _addr(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_up_is_healthy_through_every_proxy(topology: LocalTopology) -> None:
    ep = topology.endpoints
    proxied = {link.listen for link in ep.links.values()}
    real = {node.address for node in topology.nodes.values()}
    assert proxied.isdisjoint(real)

    # Sentinel names the primary, by its proxied address.
    for address in ep.sentinels:
        host, port = split_address(address)
        with redis.Redis(host=host, port=port) as s:
            primary = s.execute_command("SENTINEL", "get-master-addr-by-name", ep.master_name)
            replicas = s.sentinel_slaves(ep.master_name)
            peers = s.sentinel_sentinels(ep.master_name)
        assert f"{_addr(primary[0])}:{_addr(primary[1])}" == ep.redis["redis-1"]
        # Every address Sentinel hands out (replicas, peer Sentinels) is a proxy.
        handed_out = [f"{r['ip']}:{r['port']}" for r in replicas] + [f"{p['ip']}:{p['port']}" for p in peers]
        assert handed_out and set(handed_out) <= proxied

    # The replica is in sync, seen through its proxy.
    host, port = split_address(ep.redis["redis-2"])
    with redis.Redis(host=host, port=port) as replica:
        info = replica.info("replication")
    assert info["role"] == "slave" and info["master_link_status"] == "up"

    # PostgreSQL answers through its proxy with the seeded rows.
    with psycopg.connect(ep.postgres_dsn) as conn:
        assert conn.execute("SELECT count(*), min(id), max(id) FROM products").fetchone() == (TEST_PRODUCTS, 1, TEST_PRODUCTS)
        assert conn.execute("SELECT count(*) FROM categories").fetchone() == (100,)

    assert all(p.ok for p in topology.verify())


def test_a_disabled_link_cuts_its_node_off(topology: LocalTopology) -> None:
    host, port = split_address(topology.endpoints.redis["redis-1"])
    with topology.proxy_client() as proxies:
        proxies.disable("redis-1")
        try:
            with pytest.raises(redis.ConnectionError), redis.Redis(host=host, port=port, socket_timeout=1) as r:
                r.ping()
        finally:
            proxies.enable("redis-1")
    with redis.Redis(host=host, port=port, socket_timeout=1) as r:
        assert r.ping()


def test_seeding_is_deterministic_and_reseed_restores(topology: LocalTopology) -> None:
    with psycopg.connect(topology.endpoints.postgres_dsn, autocommit=True) as conn:
        before = conn.execute("SELECT sum(price), sum(stock) FROM products").fetchone()
        conn.execute("UPDATE products SET price = 1, version = version + 1 WHERE id <= 10")
        topology.reseed()
        after = conn.execute("SELECT sum(price), sum(stock), max(version) FROM products").fetchone()
    assert after == (*before, 1)


def test_killing_the_primary_fails_over_and_clients_stay_behind_proxies(topology_factory) -> None:
    topo: LocalTopology = topology_factory()
    ep = topo.endpoints
    sentinel = Sentinel([split_address(a) for a in ep.sentinels], socket_timeout=1)
    assert f"{_addr(sentinel.discover_master(ep.master_name)[0])}:{sentinel.discover_master(ep.master_name)[1]}" == ep.redis["redis-1"]

    killed_at = time.monotonic()
    topo.node("redis-1").kill()
    deadline = killed_at + topo.spec.redis.down_after_ms / 1000 + 3
    promoted = None
    while time.monotonic() < deadline:
        try:
            host, port = sentinel.discover_master(ep.master_name)
        except redis.RedisError:
            host, port = None, None
        if f"{host}:{port}" == ep.redis["redis-2"]:
            promoted = time.monotonic() - killed_at
            break
        time.sleep(0.05)
    assert promoted is not None, "Sentinel did not promote the replica within down-after + 3 s"

    # A client following Sentinel writes to the new primary, through redis-2's proxy.
    primary = sentinel.master_for(ep.master_name, socket_timeout=1)
    deadline = time.monotonic() + 5
    while True:
        try:
            primary.set("after-failover", "yes")
            break
        except (redis.ReadOnlyError, redis.ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert primary.connection_pool.get_master_address() == split_address(ep.redis["redis-2"])
    with redis.Redis(*split_address(topo.node("redis-2").address)) as direct:
        assert direct.get("after-failover") == b"yes"
    # Cutting redis-2's proxy cuts the client off: its traffic really went through it.
    with topo.proxy_client() as proxies:
        proxies.disable("redis-2")
        with pytest.raises(redis.ConnectionError):
            primary.set("after-cut", "no")
        proxies.enable("redis-2")
    assert topo.current_primary() is topo.node("redis-2")


def test_backend_instances_serve_the_seeded_catalogue(topology_factory) -> None:
    topo: LocalTopology = topology_factory(products=300, backends={"instances": 2, "config": {"strategy": "ttl"}})
    assert len(topo.endpoints.backends) == 2
    for url in topo.endpoints.backends.values():
        response = httpx.get(f"{url}/products/7", timeout=5)
        assert response.status_code == 200
        assert response.json()["id"] == 7 and response.json()["version"] == 1
        assert response.headers["X-Cache"] in ("l1", "l2", "miss")
        assert httpx.get(f"{url}/products/301", timeout=5).status_code == 404
    assert all(p.ok for p in topo.verify())
