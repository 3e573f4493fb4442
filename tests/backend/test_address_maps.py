"""redis_address_map / pubsub_address_map: some connections of an instance take another path to a node.

Each test opens a second proxy to a Redis node next to the topology's own and maps the node's
announced address onto it; then cutting one path must leave exactly the connections on the
other path alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import ValidationError

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.l2 import AddressMap, MappedSentinelConnection, MappedSentinelPool, RedisL2
from cachechaos.backend.metrics import Metrics
from cachechaos.proxy.client import Proxy, ToxiproxyClient
from tests.backend.conftest import Instance, Launcher, wait_for


@contextmanager
def alt_proxies(topo: Any, names: list[str], suffix: str = "") -> Iterator[dict[str, Proxy]]:
    """A second proxy per Redis node, straight to the node; removed afterwards."""
    with ToxiproxyClient(topo.endpoints.proxy_api) as client:
        made: dict[str, Proxy] = {}
        try:
            for name in names:
                made[name] = client.create_proxy(f"alt{suffix}-{name}", upstream=topo.node(name).address)
            yield made
        finally:
            for proxy in made.values():
                client.delete_proxy(proxy.name)


def l2_hits(inst: Instance) -> float:
    return inst.metric("cache_hits_total", layer="l2")


def known_health(inst: Instance) -> dict[str, Any]:
    """/health once the instance has asked Sentinel for the primary (it does so in the background)."""
    assert wait_for(lambda: inst.health()["redis_primary"] is not None, timeout=5, interval=0.05)
    return inst.health()


def layers(inst: Instance, ids: list[int]) -> list[str]:
    out = []
    for pid in ids:
        r = inst.get(pid)
        assert r.status_code == 200, r.text
        out.append(r.headers["X-Cache"])
    return out


# --- pure pieces ---------------------------------------------------------------------------


def test_address_maps_config() -> None:
    base = {"sentinels": ["127.0.0.1:26379"]}
    cfg = BackendConfig.model_validate(base)
    assert cfg.redis_address_map == {} and cfg.pubsub_address_map == {} and cfg.pubsub_map() == {}
    cfg = BackendConfig.model_validate(
        {
            **base,
            "redis_address_map": {"10.0.0.1:7001": "127.0.0.1:9001", "10.0.0.2:7002": "127.0.0.1:9002"},
            "pubsub_address_map": {"10.0.0.1:7001": "127.0.0.1:9101"},
        }
    )
    # The subscriber's own entries win; the rest falls back to the data connections' map.
    assert cfg.pubsub_map() == {"10.0.0.1:7001": "127.0.0.1:9101", "10.0.0.2:7002": "127.0.0.1:9002"}
    for bad in ({"10.0.0.1": "127.0.0.1:9001"}, {"10.0.0.1:7001": "127.0.0.1:x"}, {"a:1": "b:70000"}):
        with pytest.raises(ValidationError):
            BackendConfig.model_validate({**base, "redis_address_map": bad})


def test_mapped_connection_dials_the_map_of_whatever_sentinel_names_now(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeSentinel:
        primary = ("10.0.0.1", 7001)

        async def discover_master(self, name: str) -> tuple[str, int]:
            return self.primary

    dialled: list[tuple[str, int]] = []

    async def fake_connect(self: MappedSentinelConnection, **kwargs: Any) -> None:
        dialled.append((self.host, self.port))

    monkeypatch.setattr(MappedSentinelConnection, "connect_check_health", fake_connect)
    amap = AddressMap({"10.0.0.1:7001": "127.0.0.1:9001", "10.0.0.2:7002": "127.0.0.1:9002"})
    sentinel = FakeSentinel()

    async def main() -> None:
        pool = MappedSentinelPool("m", sentinel, address_map=amap)  # type: ignore[arg-type]
        conn = pool.make_connection()
        assert isinstance(conn, MappedSentinelConnection)
        await conn.connect()
        sentinel.primary = ("10.0.0.2", 7002)  # a failover
        await conn.connect()
        sentinel.primary = ("10.0.0.3", 7003)  # not in the map: dialled as named
        await conn.connect()

    asyncio.run(main())
    assert dialled == [("127.0.0.1", 9001), ("127.0.0.1", 9002), ("10.0.0.3", 7003)]
    assert amap.dial_str("10.0.0.1:7001") == "127.0.0.1:9001" and amap.dial_str(None) is None


def test_direct_redis_url_is_mapped_too() -> None:
    cfg = BackendConfig.model_validate(
        {
            "sentinel_discovery": False,
            "redis_url": "redis://10.0.0.1:7001/0",
            "redis_address_map": {"10.0.0.1:7001": "127.0.0.1:9001"},
            "pubsub_address_map": {"10.0.0.1:7001": "127.0.0.1:9101"},
        }
    )
    l2 = RedisL2(cfg, Metrics("t"))
    assert (l2.primary, l2.primary_dialled, l2.pubsub_dialled) == ("10.0.0.1:7001", "127.0.0.1:9001", "127.0.0.1:9101")
    for client, port in ((l2.client, 9001), (l2.pubsub_client, 9101)):
        kw = client.connection_pool.connection_kwargs
        assert (kw["host"], kw["port"], kw["db"]) == ("127.0.0.1", port, 0)
    plain = RedisL2(BackendConfig.model_validate({"sentinel_discovery": False, "redis_url": "10.0.0.1:7001"}), Metrics("t"))
    assert plain.pubsub_client is plain.client and plain.primary_dialled == "10.0.0.1:7001"


# --- live -------------------------------------------------------------------------------------


def test_redis_address_map_moves_data_connections_and_follows_failover(quiet: Any, quiet_launch: Launcher) -> None:
    topo = quiet
    ep = topo.endpoints
    primary = topo.current_primary()
    assert primary is not None
    (replica,) = [n for n in topo.redis_nodes if n is not primary]
    ids = list(range(1, 11))
    with alt_proxies(topo, [primary.name, replica.name]) as alt, ToxiproxyClient(ep.proxy_api) as px:
        amap = {ep.redis[name]: proxy.listen for name, proxy in alt.items()}
        mapped, plain = quiet_launch({"redis_address_map": amap}, {}, strategy="delete", l1={"enabled": False})
        h = known_health(mapped)
        assert h["redis_primary"] == ep.redis[primary.name]  # as Sentinel names it
        assert h["redis_primary_dialled"] == alt[primary.name].listen
        assert h["pubsub_primary_dialled"] == alt[primary.name].listen  # falls back to the data map
        assert known_health(plain)["redis_primary_dialled"] == ep.redis[primary.name]
        layers(mapped, ids)  # fill L2
        assert layers(mapped, ids) == ["l2"] * 10

        # Cutting the announced path: the mapped instance does not notice, the plain one does.
        px.disable(primary.name)
        try:
            before = l2_hits(mapped)
            assert layers(mapped, ids) == ["l2"] * 10
            assert l2_hits(mapped) - before == 10
            assert layers(plain, ids) == ["miss"] * 10
        finally:
            px.enable(primary.name)

        # Cutting the mapped path: now the mapped instance loses its L2 (and still answers).
        px.disable(alt[primary.name].name)
        try:
            before = l2_hits(mapped)
            assert layers(mapped, ids) == ["miss"] * 10
            assert l2_hits(mapped) == before
            assert mapped.metric("redis_errors_total") >= 1
        finally:
            px.enable(alt[primary.name].name)
        assert wait_for(lambda: layers(mapped, ids[:1]) == ["l2"], timeout=5, interval=0.1)

        # Failover: the map is applied to the address Sentinel names now.
        assert wait_for(replica.replication_up, timeout=10, interval=0.1)
        with topo.sentinels[0].client() as s:
            s.execute_command("SENTINEL", "FAILOVER", ep.master_name)
        assert wait_for(lambda: mapped.health()["redis_primary"] == ep.redis[replica.name], timeout=20, interval=0.2)
        assert mapped.health()["redis_primary_dialled"] == alt[replica.name].listen

        def hit_after_fill(pid: int) -> bool:
            mapped.get(pid)
            return mapped.get(pid).headers["X-Cache"] == "l2"

        assert wait_for(lambda: hit_after_fill(20), timeout=10, interval=0.2)
        px.disable(replica.name)  # the new primary's announced path
        try:
            assert layers(mapped, [20]) == ["l2"]
        finally:
            px.enable(replica.name)
        px.disable(alt[replica.name].name)
        try:
            assert layers(mapped, [20]) == ["miss"]
        finally:
            px.enable(alt[replica.name].name)


def test_pubsub_address_map_delays_only_invalidations(launch: Launcher, shared: Any) -> None:
    ep = shared.endpoints
    primary = shared.current_primary()
    assert primary is not None
    with alt_proxies(shared, [primary.name], suffix="pubsub") as alt, ToxiproxyClient(ep.proxy_api) as px:
        path = alt[primary.name].name
        fallback_s = 3.0
        writer, reader = launch(
            {},
            {"pubsub_address_map": {ep.redis[primary.name]: alt[primary.name].listen}},
            strategy="event",
            event={"fallback_ttl_s": fallback_s},
        )
        h = known_health(reader)
        assert h["pubsub_primary_dialled"] == alt[primary.name].listen
        assert h["redis_primary_dialled"] == ep.redis[primary.name]  # data stays on the announced path

        def cached(pid: int) -> None:
            reader.get(pid)
            assert reader.get(pid).headers["X-Cache"] == "l1"

        def subscribers() -> int:
            with primary.client() as r:
                return int(dict(r.pubsub_numsub("cachechaos:invalidate"))[b"cachechaos:invalidate"])

        # Both instances listen, and events reach the reader over the alternative path.
        assert wait_for(lambda: subscribers() == 2, timeout=3)
        cached(1)
        v1 = writer.put_price(1, 1.0)["version"]
        assert wait_for(lambda: reader.get(1).json()["version"] == v1, timeout=1)
        applied = reader.metric("cache_invalidations_applied_total")
        assert applied >= 1

        # 1. Invalidations dropped (timeout toxic): stale in L1 until the heal, data reads fine.
        for pid in (2, 3):
            cached(pid)
        px.add_toxic(path, "timeout", {"timeout": 0}, name="drop")
        t0 = time.monotonic()
        v2 = writer.put_price(2, 2.0)["version"]
        time.sleep(0.8)
        r = reader.get(2)
        assert r.headers["X-Cache"] == "l1" and r.json()["version"] == v2 - 1
        assert reader.metric("cache_invalidations_applied_total") == applied
        writer.get(50)
        assert reader.get(50).headers["X-Cache"] == "l2"  # the data path to Redis works
        px.remove_toxic(path, "drop")  # closes the held connection: the listener resubscribes
        assert wait_for(lambda: reader.get(2).json()["version"] == v2, timeout=2, interval=0.05)
        assert time.monotonic() - t0 < fallback_s  # the heal, not the fallback TTL

        # 2. Still dropped, never healed within the fallback TTL: the TTL bounds staleness.
        cached(3)
        px.add_toxic(path, "timeout", {"timeout": 0}, name="drop")
        t0 = time.monotonic()
        v3 = writer.put_price(3, 3.0)["version"]
        time.sleep(0.5)
        assert reader.get(3).json()["version"] == v3 - 1
        assert wait_for(lambda: reader.get(3).json()["version"] == v3, timeout=fallback_s + 1, interval=0.1)
        assert time.monotonic() - t0 >= fallback_s - 1.0
        lost = reader.metric("redis_errors_total", kind="pubsub")
        px.remove_toxic(path, "drop")

        # 3. Delayed (latency toxic): the invalidation arrives, late.
        assert wait_for(lambda: reader.metric("redis_errors_total", kind="pubsub") > lost, timeout=3)
        assert wait_for(lambda: subscribers() == 2, timeout=3)  # resubscribed
        cached(4)
        px.add_toxic(path, "latency", {"latency": 1000}, name="slow")
        v4 = writer.put_price(4, 4.0)["version"]
        time.sleep(0.4)
        assert reader.get(4).json()["version"] == v4 - 1
        assert wait_for(lambda: reader.get(4).json()["version"] == v4, timeout=2.0, interval=0.05)
        late = reader.metric("cache_invalidation_latency_seconds_bucket", le="0.5")
        assert reader.metric("cache_invalidation_latency_seconds_count") - late >= 1
        px.remove_toxic(path, "slow")
