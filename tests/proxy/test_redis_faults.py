"""Toxics against a real Redis through our proxy."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time

import pytest
import redis

from cachechaos.proxy.client import Proxy, ToxiproxyClient

from .conftest import Server, redis_client

BIG = 1_000_000


@pytest.fixture
def rproxy(toxi: ToxiproxyClient, redis_server: Server) -> Proxy:
    return toxi.create_proxy("redis", redis_server.address)


@pytest.fixture(scope="module")
def big_value(redis_server: Server) -> bytes:
    value = os.urandom(BIG)
    redis_client(redis_server.port).set("big", value)
    return value


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def test_latency_then_removal_on_the_same_connection(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port)
    client_id = client.client_id()
    assert timed(client.ping) < 0.05
    toxi.add_toxic("redis", "latency", {"latency": 100})
    assert all(timed(client.ping) >= 0.1 for _ in range(3))
    toxi.remove_toxic("redis", "latency_downstream")
    assert max(timed(client.ping) for _ in range(3)) < 0.05
    assert client.client_id() == client_id  # same connection throughout


def test_latency_upstream_and_jitter(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port)
    toxi.add_toxic("redis", "latency", {"latency": 60, "jitter": 20}, stream="upstream")
    times = [timed(client.ping) for _ in range(5)]
    assert all(0.04 <= t < 0.2 for t in times), times


def test_timeout_zero_makes_the_client_time_out(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port, timeout=0.3)
    assert client.ping()
    toxi.add_toxic("redis", "timeout", {"timeout": 0})
    with pytest.raises(redis.TimeoutError):
        client.ping()
    with pytest.raises(redis.TimeoutError):
        redis_client(rproxy.listen_port, timeout=0.3).ping()
    # Removing a timeout toxic closes the connections it held (Toxiproxy semantics).
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=2)
    time.sleep(0.1)
    toxi.remove_toxic("redis", "timeout_downstream")
    assert raw.recv(10) == b""
    assert redis_client(rproxy.listen_port).ping()


def test_timeout_with_deadline_closes(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    toxi.add_toxic("redis", "timeout", {"timeout": 200}, stream="upstream")
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=2)
    raw.sendall(b"PING\r\n")
    start = time.perf_counter()
    assert raw.recv(10) == b""  # no reply, then closed
    assert 0.15 <= time.perf_counter() - start < 1.0


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_reset_peer_resets_the_client(toxi: ToxiproxyClient, rproxy: Proxy, stream: str) -> None:
    toxi.add_toxic("redis", "reset_peer", {"timeout": 0}, stream=stream)
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=2)
    raw.sendall(b"PING\r\n")
    with pytest.raises(ConnectionResetError):
        raw.recv(10)
    with pytest.raises(redis.ConnectionError, match="reset"):
        redis_client(rproxy.listen_port).ping()


def test_disable_closes_and_refuses_then_enable_restores(toxi: ToxiproxyClient,
                                                         rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port)
    assert client.ping()
    toxi.disable("redis")
    with pytest.raises(redis.ConnectionError):
        client.ping()  # the open connection was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=2)
    toxi.enable("redis")
    assert redis_client(rproxy.listen_port).ping()


@pytest.mark.parametrize("rate", [1000, 4000])
def test_bandwidth_downstream_holds_the_rate(toxi: ToxiproxyClient, rproxy: Proxy,
                                             big_value: bytes, rate: int) -> None:
    client = redis_client(rproxy.listen_port)
    client.ping()
    toxi.add_toxic("redis", "bandwidth", {"rate": rate})
    start = time.perf_counter()
    assert client.get("big") == big_value
    elapsed = time.perf_counter() - start
    expected = BIG / (rate * 1000)
    assert expected * 0.9 <= elapsed <= expected * 1.1, (elapsed, expected)


def test_bandwidth_upstream_holds_the_rate(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port)
    client.ping()
    toxi.add_toxic("redis", "bandwidth", {"rate": 2000}, stream="upstream")
    payload = os.urandom(BIG)
    start = time.perf_counter()
    client.set("up", payload)
    elapsed = time.perf_counter() - start
    assert 0.45 <= elapsed <= 0.55, elapsed
    toxi.remove_toxic("redis", "bandwidth_upstream")
    assert client.get("up") == payload


def test_bandwidth_zero_holds_data_until_removed(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port, timeout=0.3)
    client.ping()
    toxi.add_toxic("redis", "bandwidth", {"rate": 0})
    with pytest.raises(redis.TimeoutError):
        client.ping()
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=2)
    raw.sendall(b"PING\r\n")
    time.sleep(0.2)
    toxi.remove_toxic("redis", "bandwidth_downstream")
    assert raw.recv(100) == b"+PONG\r\n"  # held, not dropped


@pytest.mark.parametrize("limit", [10_000, 123_457])
def test_limit_data_closes_after_exactly_the_limit(toxi: ToxiproxyClient, rproxy: Proxy,
                                                   big_value: bytes, limit: int) -> None:
    toxi.add_toxic("redis", "limit_data", {"bytes": limit})
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=5)
    raw.sendall(b"GET big\r\n")
    received = b""
    while chunk := raw.recv(65536):
        received += chunk
    assert len(received) == limit
    assert received == (b"$%d\r\n" % BIG + big_value)[:limit]


def test_limit_data_upstream(toxi: ToxiproxyClient) -> None:
    upstream = socket.create_server(("127.0.0.1", 0))
    proxy = toxi.create_proxy("limited", f"127.0.0.1:{upstream.getsockname()[1]}")
    toxi.add_toxic("limited", "limit_data", {"bytes": 14}, stream="upstream")
    raw = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5)
    raw.sendall(b"PING\r\nPING\r\nPING\r\n")
    server_side, _ = upstream.accept()
    server_side.settimeout(5)
    received = b""
    while chunk := server_side.recv(100):
        received += chunk
    assert received == b"PING\r\nPING\r\nPI"
    upstream.close()
    server_side.close()


def test_slicer_keeps_the_protocol_intact(toxi: ToxiproxyClient, rproxy: Proxy,
                                          big_value: bytes) -> None:
    client = redis_client(rproxy.listen_port)
    for stream in ("upstream", "downstream"):
        toxi.add_toxic("redis", "slicer", {"average_size": 64, "size_variation": 32,
                                           "delay": 10}, stream=stream)
    values = {f"k{i}": os.urandom(size) for i, size in enumerate([1, 100, 5_000, 70_000])}
    pipe = client.pipeline()
    for key, value in values.items():
        pipe.set(key, value)
    assert pipe.execute() == [True] * len(values)
    assert client.mget(list(values)) == list(values.values())
    assert client.get("big") == big_value


def test_slow_close_delays_the_close(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    toxi.add_toxic("redis", "slow_close", {"delay": 300})
    raw = socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=5)
    raw.sendall(b"QUIT\r\n")
    start = time.perf_counter()
    assert raw.recv(100) == b"+OK\r\n"
    assert raw.recv(100) == b""
    assert time.perf_counter() - start >= 0.28


def test_toxicity_zero_never_applies(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    toxi.add_toxic("redis", "latency", {"latency": 300}, toxicity=0.0)
    assert timed(redis_client(rproxy.listen_port).ping) < 0.1


def test_dead_upstream_closes_the_client(toxi: ToxiproxyClient) -> None:
    dead = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{dead.getsockname()[1]}"
    dead.close()
    proxy = toxi.create_proxy("dead", address)
    raw = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=2)
    with contextlib.suppress(ConnectionResetError):
        assert raw.recv(10) == b""


def test_toxicity_is_rolled_per_connection(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    toxi.add_toxic("redis", "latency", {"latency": 250}, toxicity=0.5)
    socks = [socket.create_connection(("127.0.0.1", rproxy.listen_port), timeout=5)
             for _ in range(40)]
    start = time.perf_counter()
    for sock in socks:
        sock.sendall(b"PING\r\n")
    arrived: dict[socket.socket, float] = {}
    while len(arrived) < len(socks) and time.perf_counter() - start < 5:
        ready, _, _ = select.select([s for s in socks if s not in arrived], [], [], 1)
        for sock in ready:
            assert sock.recv(100) == b"+PONG\r\n"
            arrived[sock] = time.perf_counter() - start
    for sock in socks:
        sock.close()
    assert len(arrived) == len(socks)
    slow = sum(elapsed >= 0.25 for elapsed in arrived.values())
    assert 4 <= slow <= 36, slow  # P(outside) < 1e-6 for a fair coin per connection


def test_update_applies_to_open_connections(toxi: ToxiproxyClient, rproxy: Proxy) -> None:
    client = redis_client(rproxy.listen_port)
    toxi.add_toxic("redis", "latency", {"latency": 20})
    assert 0.02 <= timed(client.ping) < 0.1
    toxi.update_toxic("redis", "latency_downstream", {"latency": 150})
    assert timed(client.ping) >= 0.15
    toxi.update_toxic("redis", "latency_downstream", {}, toxicity=0.0)
    assert timed(client.ping) < 0.05
