"""The third-party `toxiproxy-python` client against our server, on a real Redis."""

from __future__ import annotations

import time

import pytest
import redis
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from cachechaos.proxy.client import ToxiproxyClient

from .conftest import Server, redis_client


def ping_seconds(client: redis.Redis) -> float:
    start = time.perf_counter()
    assert client.ping()
    return time.perf_counter() - start


def test_toxiproxy_python_drives_our_server(proxy_api: str, toxi: ToxiproxyClient,
                                            redis_server: Server) -> None:
    server = Toxiproxy()
    host, port = proxy_api.removeprefix("http://").rsplit(":", 1)
    server.update_api_consumer(host, int(port))
    assert server.running()
    assert b"version" in server.version()

    proxy = server.create(upstream=redis_server.address, name="compat_redis",
                          listen="127.0.0.1:0")
    assert proxy.enabled is True
    with pytest.raises(ProxyExists):
        server.create(upstream=redis_server.address, name="compat_redis")
    listen_port = int(proxy.listen.rsplit(":", 1)[1])
    client = redis_client(listen_port)
    assert ping_seconds(client) < 0.05

    proxy.add_toxic(type="latency", attributes={"latency": 100})
    toxics = proxy.toxics()
    assert list(toxics) == ["latency_downstream"]
    assert toxics["latency_downstream"].attributes == {"latency": 100, "jitter": 0}
    assert ping_seconds(client) >= 0.1
    assert proxy.destroy_toxic("latency_downstream")
    assert ping_seconds(client) < 0.05
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")

    with proxy.down():
        assert server.get_proxy("compat_redis").enabled is False
        with pytest.raises(redis.ConnectionError):
            redis_client(listen_port, 1).ping()
    assert redis_client(listen_port, 1).ping()

    proxy.disable()
    with pytest.raises(redis.ConnectionError):
        redis_client(listen_port, 1).ping()
    proxy.enable()
    assert redis_client(listen_port, 1).ping()

    proxy.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 0})
    proxy.disable()
    assert server.reset()
    assert proxy.toxics() == {}
    assert server.get_proxy("compat_redis").enabled is True
    assert redis_client(listen_port, 1).ping()

    entries = [{"name": "compat_a", "upstream": redis_server.address, "listen": "127.0.0.1:0"},
               {"name": "compat_b", "upstream": redis_server.address, "listen": "127.0.0.1:0"}]
    created = server.populate(entries)
    assert sorted(p.name for p in created) == ["compat_a", "compat_b"]
    assert {"compat_a", "compat_b", "compat_redis"} <= set(server.proxies())

    server.destroy(proxy)
    assert server.get_proxy("compat_redis") is None
    server.destroy_all()
    assert server.proxies() == {}
