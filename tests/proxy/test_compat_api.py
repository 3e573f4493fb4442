"""The built-in proxy's old-API modes (`--compat`) and the client driving them.

Anchors, from Toxiproxy's own source: v2.0.0 has no /populate and names the
error message "title"; at v2.1.4 api.go routes updates by POST
only, its vendored gorilla/mux answers any unrouted method with Go's bare
"404 page not found", and Version writes the version as text/plain; v2.6.0
adds PATCH and writes `{"version": "2.6.0"}\\n` with a literal backslash-n;
reset_peer arrives in 2.2.0.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cachechaos.proxy.client import ProxyNotFound, ToxiproxyClient, ToxiproxyError

from .conftest import free_port, start_proxy_process, stop_process, wait_until


@dataclass
class Served:
    url: str
    log: Path


def _serve(tmp: Path, compat: str | None) -> Iterator[Served]:
    port = free_port()
    log = tmp / "proxy.log"
    proc = start_proxy_process(port, log, compat)
    url = f"http://127.0.0.1:{port}"
    try:
        with ToxiproxyClient(url) as client:
            client.wait_ready(15)
        yield Served(url, log)
    finally:
        assert stop_process(proc) == 0


@pytest.fixture(scope="module", params=[None, "2.0", "2.1", "2.6"],
                ids=["current", "compat-2.0", "compat-2.1", "compat-2.6"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("compat"), request.param)


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("compat-2.1"), "2.1")


@pytest.fixture
def client(served: Served) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(served.url) as c:
        yield c
        c.reset()
        for name in c.proxies():
            c.delete_proxy(name)


def test_2_1_answers_version_as_plain_text(old: Served) -> None:
    response = httpx.get(f"{old.url}/version")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain;charset=utf-8"
    assert response.content == b"2.1.4"
    with ToxiproxyClient(old.url) as c:
        assert c.version() == c.server_version() == "2.1.4"


def test_2_1_refuses_every_patch_with_the_bare_router_404(old: Served) -> None:
    with ToxiproxyClient(old.url) as c:
        c.create_proxy("p", "127.0.0.1:9")
        c.add_toxic("p", "latency", {"latency": 5})
        try:
            for path in ("/proxies/p", "/proxies/p/toxics/latency_downstream"):
                response = httpx.patch(f"{old.url}{path}", json={"enabled": False})
                assert (response.status_code, response.text) == (404, "404 page not found\n"), path
                assert response.headers["content-type"].startswith("text/plain")
            # What the client made of that 404 before: "no proxy named 'p'". Now it names the route.
            with pytest.raises(ToxiproxyError, match="has no route for PATCH /proxies/p") as info:
                c._request("PATCH", "/proxies/p", json={"enabled": False}, proxy="p")
            assert "no proxy named" not in str(info.value)
            assert c.get_proxy("p").enabled is True  # nothing changed behind the 404
        finally:
            c.delete_proxy("p")
    assert "no route for PATCH /proxies/p on Toxiproxy 2.1.4" in old.log.read_text()


def test_2_1_has_no_reset_peer_toxic(old: Served) -> None:
    with ToxiproxyClient(old.url) as c:
        c.create_proxy("rp", "127.0.0.1:9")
        try:
            with pytest.raises(ToxiproxyError, match="400 invalid toxic type"):
                c.add_toxic("rp", "reset_peer", {"timeout": 0})
        finally:
            c.delete_proxy("rp")


def test_2_0_has_no_populate_and_names_errors_title(tmp_path: Path) -> None:
    served = _serve(tmp_path, "2.0")
    server = next(served)
    try:
        response = httpx.post(f"{server.url}/populate", json=[])
        assert (response.status_code, response.text) == (404, "404 page not found\n")
        missing = httpx.get(f"{server.url}/proxies/nope")
        assert missing.json() == {"title": "proxy not found", "status": 404}
        with ToxiproxyClient(server.url) as c:
            assert c.version() == "2.0.0"
            with pytest.raises(ProxyNotFound, match="proxy not found"):
                c.get_proxy("nope")
    finally:
        served.close()


def test_2_6_version_body_is_not_json_and_still_read(tmp_path: Path) -> None:
    served = _serve(tmp_path, "2.6")
    server = next(served)
    try:
        body = httpx.get(f"{server.url}/version").text
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        with ToxiproxyClient(server.url) as c:
            assert c.version() == "2.6.0"
        # mux 1.8 (2.1.5 on) knows 405: a PUT on a routed path gets it, with no body.
        response = httpx.put(f"{server.url}/proxies/x")
        assert (response.status_code, response.content) == (405, b"")
    finally:
        served.close()


def test_client_round_trip_uses_only_routes_every_server_has(client: ToxiproxyClient, served: Served) -> None:
    upstream = socket.create_server(("127.0.0.1", 0))
    try:
        proxy = client.create_proxy("rt", f"127.0.0.1:{upstream.getsockname()[1]}")
        assert client.disable("rt").enabled is False
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=2).close()
        assert client.enable("rt").listen == proxy.listen
        wait_until(lambda: bool(socket.create_connection(("127.0.0.1", proxy.listen_port), 2)),
                   5, "re-enabled proxy")
        assert client.update_proxy("rt", upstream="127.0.0.1:9").upstream == "127.0.0.1:9"

        toxic = client.add_toxic("rt", "latency", {"latency": 10}, stream="upstream")
        updated = client.update_toxic("rt", toxic.name, {"latency": 30}, toxicity=0.5)
        assert (updated.attributes["latency"], updated.toxicity) == (30, 0.5)
        assert client.get_toxic("rt", toxic.name) == updated
        client.remove_toxic("rt", toxic.name)
        assert client.toxics("rt") == []

        client.add_toxic("rt", "timeout", {"timeout": 0})
        client.disable("rt")
        client.reset()
        assert client.get_proxy("rt").enabled and client.toxics("rt") == []
        populated = client.populate([{"name": "pop", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}])
        assert [p.name for p in populated] == ["pop"]
        again = client.populate([{"name": "pop", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"},
                                 {"name": "rt", "upstream": "127.0.0.1:10", "listen": proxy.listen}])
        assert again[0] == populated[0]  # unchanged: kept as it is
        assert (again[1].upstream, again[1].listen) == ("127.0.0.1:10", proxy.listen)
        assert client.get_proxy("rt").upstream == "127.0.0.1:10"
    finally:
        upstream.close()
    assert "no route for" not in served.log.read_text()


def test_cli_serve_takes_compat(tmp_path: Path) -> None:
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cachechaos", "proxy", "serve", "--listen", f"127.0.0.1:{port}",
             "--compat", "2.1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        with ToxiproxyClient(f"http://127.0.0.1:{port}") as c:
            c.wait_ready(30)
            assert httpx.get(f"http://127.0.0.1:{port}/version").text == "2.1.4"
    finally:
        assert stop_process(proc, signal.SIGTERM) == 0
    assert "as Toxiproxy 2.1.4 (compat 2.1)" in (tmp_path / "serve.log").read_text()
