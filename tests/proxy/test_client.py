"""Our ToxiproxyClient: its API, its errors, and several clients on several servers."""

from __future__ import annotations

import socket

import pytest

from cachechaos.proxy import ProxyServer
from cachechaos.proxy.client import (
    AlreadyExists,
    ProxyNotFound,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyUnavailable,
)

from .conftest import free_port


def test_client_round_trip(toxi: ToxiproxyClient) -> None:
    assert toxi.version().startswith("2.")
    proxy = toxi.create_proxy("c1", "127.0.0.1:9", listen="127.0.0.1:0")
    assert proxy.listen_host == "127.0.0.1" and proxy.listen_port > 0
    assert toxi.proxies()["c1"] == proxy == toxi.get_proxy("c1")

    toxic = toxi.add_toxic("c1", "latency", {"latency": 10}, stream="upstream", toxicity=0.5)
    assert (toxic.name, toxic.stream, toxic.toxicity) == ("latency_upstream", "upstream", 0.5)
    assert toxic.attributes == {"latency": 10, "jitter": 0}
    named = toxi.add_toxic("c1", "bandwidth", {"rate": 5}, name="slow")
    assert toxi.toxics("c1") == [toxic, named]
    assert toxi.get_toxic("c1", "slow") == named
    assert toxi.update_toxic("c1", "slow", {"rate": 7}).attributes == {"rate": 7}
    assert toxi.update_toxic("c1", "slow", {}, toxicity=0.25).toxicity == 0.25
    assert toxi.get_proxy("c1").toxics == (toxic, toxi.get_toxic("c1", "slow"))

    assert toxi.disable("c1").enabled is False
    assert toxi.enable("c1").listen == proxy.listen
    assert toxi.update_proxy("c1", upstream="127.0.0.1:10").upstream == "127.0.0.1:10"
    toxi.remove_toxic("c1", "slow")
    toxi.reset()
    assert toxi.toxics("c1") == []
    populated = toxi.populate([{"name": "c2", "upstream": "127.0.0.1:9"}])
    assert [p.name for p in populated] == ["c2"]
    toxi.delete_proxy("c1")
    assert set(toxi.proxies()) == {"c2"}


def test_client_errors_say_what_to_do(toxi: ToxiproxyClient) -> None:
    toxi.create_proxy("e1", "127.0.0.1:9")
    with pytest.raises(AlreadyExists, match="exists already"):
        toxi.create_proxy("e1", "127.0.0.1:9")
    with pytest.raises(ProxyNotFound, match="no proxy named 'nope'"):
        toxi.get_proxy("nope")
    with pytest.raises(ProxyNotFound):
        toxi.add_toxic("nope", "latency")
    with pytest.raises(ToxicNotFound, match="has no toxic"):
        toxi.remove_toxic("e1", "nope")
    toxi.add_toxic("e1", "latency")
    with pytest.raises(AlreadyExists):
        toxi.add_toxic("e1", "latency")
    with pytest.raises(ToxiproxyError) as bad:
        toxi.add_toxic("e1", "no_such_type")
    assert bad.value.status == 400 and "invalid toxic type" in str(bad.value)
    # Names that need escaping in a URL still address the right proxy.
    odd = toxi.create_proxy("a b/c%", "127.0.0.1:9")
    assert toxi.get_proxy("a b/c%") == odd


def test_unavailable_server() -> None:
    with ToxiproxyClient(f"http://127.0.0.1:{free_port()}", timeout=1) as client:
        with pytest.raises(ToxiproxyUnavailable, match=r"python -m cachechaos\.proxy"):
            client.proxies()
        with pytest.raises(ToxiproxyUnavailable, match="did not answer"):
            client.wait_ready(0.3)


def test_several_clients_on_several_in_process_servers() -> None:
    with (
        ProxyServer("127.0.0.1:0") as one,
        ProxyServer("127.0.0.1:0") as two,
        ToxiproxyClient(one.url) as a,
        ToxiproxyClient(two.url) as b,
    ):
        a.wait_ready()
        b.wait_ready()
        a.create_proxy("same", "127.0.0.1:9")
        b.create_proxy("same", "127.0.0.1:10")
        assert a.get_proxy("same").upstream == "127.0.0.1:9"
        assert b.get_proxy("same").upstream == "127.0.0.1:10"
        echo = socket.create_server(("127.0.0.1", 0))
        try:
            port = a.create_proxy("echo", f"127.0.0.1:{echo.getsockname()[1]}").listen_port
            with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
                upstream, _ = echo.accept()
                client.sendall(b"ping")
                upstream.settimeout(2)
                assert upstream.recv(4) == b"ping"
                upstream.close()
        finally:
            echo.close()
    with pytest.raises(ToxiproxyUnavailable):
        ToxiproxyClient(one.url, timeout=1).version()
