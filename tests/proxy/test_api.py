"""The HTTP API against Toxiproxy 2.x: shapes, status codes, semantics."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from cachechaos.proxy.client import ToxiproxyClient

from .conftest import free_port


@pytest.fixture
def api(proxy_api: str, toxi: ToxiproxyClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy_api, timeout=5, trust_env=False) as client:
        yield client


@pytest.fixture
def upstream() -> Iterator[socket.socket]:
    """A listening socket to proxy to (accepts via the kernel backlog)."""
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def addr(sock: socket.socket) -> str:
    return f"127.0.0.1:{sock.getsockname()[1]}"


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def test_version_is_json(api: httpx.Client) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert response.json()["version"].startswith("2.")
    assert response.headers["content-type"].startswith("application/json")


def test_proxy_lifecycle(api: httpx.Client, upstream: socket.socket) -> None:
    created = api.post("/proxies", json={"name": "p1", "upstream": addr(upstream),
                                         "listen": "127.0.0.1:0"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"name", "listen", "upstream", "enabled", "toxics"}
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert body["enabled"] is True and body["toxics"] == []
    socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()

    assert api.get("/proxies").json() == {"p1": body}
    assert api.get("/proxies/p1").json() == body
    assert_error(api.post("/proxies", json={"name": "p1", "upstream": addr(upstream)}), 409)

    patched = api.patch("/proxies/p1", json={"enabled": False})
    assert patched.status_code == 200
    assert patched.json() == {**body, "enabled": False}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2)
    # Re-enabled on the same address, not a new random port.
    assert api.patch("/proxies/p1", json={"enabled": True}).json()["listen"] == body["listen"]
    socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()

    assert api.delete("/proxies/p1").status_code == 204
    assert_error(api.get("/proxies/p1"), 404)
    assert_error(api.delete("/proxies/p1"), 404)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2)


def test_disable_closes_open_connections(api: httpx.Client, upstream: socket.socket) -> None:
    listen = api.post("/proxies", json={"name": "p", "upstream": addr(upstream)}).json()["listen"]
    host, port = listen.rsplit(":", 1)
    client = socket.create_connection((host, int(port)), timeout=2)
    client.sendall(b"x")
    time.sleep(0.1)
    api.post("/proxies/p", json={"enabled": False})  # POST is Toxiproxy's legacy update verb
    client.settimeout(2)
    with contextlib.suppress(ConnectionResetError):
        assert client.recv(10) == b""
    client.close()


def test_patch_merges_and_create_defaults(api: httpx.Client, upstream: socket.socket) -> None:
    created = api.post("/proxies", json={"name": "d", "upstream": addr(upstream),
                                         "enabled": False}).json()
    assert created["enabled"] is False and created["listen"] == "127.0.0.1:0"
    other = socket.create_server(("127.0.0.1", 0))
    try:
        patched = api.patch("/proxies/d", json={"upstream": addr(other)}).json()
        assert patched["upstream"] == addr(other) and patched["enabled"] is False
    finally:
        other.close()


def test_listen_address_in_use_is_500(api: httpx.Client, upstream: socket.socket) -> None:
    error = assert_error(api.post("/proxies", json={
        "name": "busy", "upstream": addr(upstream), "listen": addr(upstream)}), 500)
    assert "listen" in error
    assert_error(api.get("/proxies/busy"), 404)


def test_populate_is_idempotent_and_validates_first(api: httpx.Client,
                                                    upstream: socket.socket) -> None:
    port = free_port()
    entries = [{"name": "a", "upstream": addr(upstream), "listen": f"127.0.0.1:{port}"},
               {"name": "b", "upstream": addr(upstream)}]
    first = api.post("/populate", json=entries)
    assert first.status_code == 201
    proxies = first.json()["proxies"]
    assert [p["name"] for p in proxies] == ["a", "b"]
    api.post("/proxies/a/toxics", json={"type": "latency", "attributes": {"latency": 5}})

    again = api.post("/populate", json=entries)
    assert again.status_code == 201
    # Unchanged proxies are kept as they are, toxics and ports included.
    assert [p["listen"] for p in again.json()["proxies"]] == [p["listen"] for p in proxies]
    assert api.get("/proxies/a/toxics").json()[0]["name"] == "latency_downstream"

    bad = [{"name": "c", "upstream": addr(upstream)}, {"name": "d"}]
    assert "upstream" in assert_error(api.post("/populate", json=bad), 400)
    assert_error(api.get("/proxies/c"), 404)  # nothing created when any entry is invalid
    dup = [{"name": "e", "upstream": addr(upstream)}, {"name": "e", "upstream": addr(upstream)}]
    assert_error(api.post("/populate", json=dup), 400)
    assert_error(api.post("/populate", json={"name": "x"}), 400)


def test_toxic_crud(api: httpx.Client, upstream: socket.socket) -> None:
    api.post("/proxies", json={"name": "t", "upstream": addr(upstream)})
    added = api.post("/proxies/t/toxics", json={"type": "latency",
                                                "attributes": {"latency": 100}})
    assert added.status_code == 200
    assert added.json() == {"name": "latency_downstream", "type": "latency",
                            "stream": "downstream", "toxicity": 1.0,
                            "attributes": {"latency": 100, "jitter": 0}}
    up = api.post("/proxies/t/toxics", json={"type": "latency", "stream": "upstream",
                                             "toxicity": 0.5}).json()
    assert up["name"] == "latency_upstream" and up["toxicity"] == 0.5
    # Names are unique across both directions.
    assert_error(api.post("/proxies/t/toxics", json={
        "type": "bandwidth", "name": "latency_upstream"}), 409)
    assert_error(api.post("/proxies/t/toxics", json={"type": "latency"}), 409)

    listed = api.get("/proxies/t/toxics").json()
    assert [t["name"] for t in listed] == ["latency_upstream", "latency_downstream"]
    assert api.get("/proxies/t").json()["toxics"] == listed

    patched = api.patch("/proxies/t/toxics/latency_downstream",
                        json={"attributes": {"jitter": 10}})
    assert patched.json()["attributes"] == {"latency": 100, "jitter": 10}
    assert api.get("/proxies/t/toxics/latency_downstream").json() == patched.json()

    assert api.delete("/proxies/t/toxics/latency_downstream").status_code == 204
    assert_error(api.delete("/proxies/t/toxics/latency_downstream"), 404)
    assert_error(api.get("/proxies/t/toxics/nope"), 404)
    assert_error(api.get("/proxies/nope/toxics"), 404)
    assert_error(api.post("/proxies/nope/toxics", json={"type": "latency"}), 404)

    assert api.post("/reset").status_code == 204
    assert api.get("/proxies/t/toxics").json() == []


@pytest.mark.parametrize("body,fragment", [
    ({"type": "latency", "stream": "sideways"}, "stream"),
    ({"type": "nonsense"}, "invalid toxic type"),
    ({}, "invalid toxic type"),
    ({"type": "latency", "attributes": {"latency": "100"}}, "latency"),
    ({"type": "latency", "attributes": {"latency": 1.5}}, "latency"),
    ({"type": "latency", "attributes": {"latency": -1}}, "latency"),
    ({"type": "latency", "attributes": [1]}, "attributes"),
    ({"type": "latency", "toxicity": "high"}, "toxicity"),
    ({"type": 5}, "type"),
])
def test_bad_toxics_are_400(api: httpx.Client, upstream: socket.socket, body: dict,
                            fragment: str) -> None:
    api.post("/proxies", json={"name": "bad", "upstream": addr(upstream)})
    assert fragment in assert_error(api.post("/proxies/bad/toxics", json=body), 400)


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"name": "x"}', b'{"upstream": "h:1"}',
    b'{"name": 1, "upstream": "h:1"}', b'{"name": "x", "upstream": "nohostport"}',
    b'{"name": "x", "upstream": "h:1", "enabled": "yes"}', b"NaN", b"[" * 100_000,
])
def test_bad_proxy_bodies_are_400(api: httpx.Client, body: bytes) -> None:
    assert_error(api.post("/proxies", content=body), 400)


def test_unknown_routes_and_methods(api: httpx.Client) -> None:
    assert_error(api.get("/nope"), 404)
    assert_error(api.put("/proxies"), 405)
    assert_error(api.get("/reset"), 405)
    assert_error(api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"}), 403)


def test_malformed_http_gets_a_4xx(proxy_api: str) -> None:
    host, port = proxy_api.removeprefix("http://").rsplit(":", 1)
    for raw in (b"garbage\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
                b"GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zip\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(raw)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        status = int(reply.split(b" ", 2)[1])
        assert 400 <= status < 500, reply
        assert b'"error"' in reply


def test_populate_bind_failure_is_500_with_what_was_applied(api: httpx.Client,
                                                            upstream: socket.socket) -> None:
    entries = [{"name": "ok", "upstream": addr(upstream)},
               {"name": "taken", "upstream": addr(upstream), "listen": addr(upstream)}]
    response = api.post("/populate", json=entries)
    assert_error(response, 500)
    assert [p["name"] for p in response.json()["proxies"]] == ["ok"]
