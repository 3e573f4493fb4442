"""The load users' request path against a real HTTP server: a backend URL's path, and a 5xx as a failure.

The users send through each backend's HTTPClient (not Locust's user agent): the backend URL's
path must prefix every request, and an answer outside the valid codes must be recorded with its
status and counted as a failure in the live statistics, as Locust's agent did.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cachechaos.history.format import Op, read_history
from cachechaos.traffic.request_target import request_target
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec

PREFIX = "/shop/v1"
BROKEN = 49  # its answer breaks off mid-body


class Handler(BaseHTTPRequestHandler):
    """Products under PREFIX: an even id answers 503, an odd one 200 with its version."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the users' clients expect
    seen: list[str] = []

    def do_GET(self) -> None:  # http.server calls it by this name
        self.seen.append(self.path)
        pid = int(self.path.rsplit("/", 1)[1]) if self.path.startswith(f"{PREFIX}/products/") else 0
        status, body = (503, b'{"error":"unavailable"}') if pid % 2 == 0 else (200, b'{"id":%d,"version":3}' % pid)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-cache", "l2")
        self.send_header("content-length", str(len(body) + (10 if pid == BROKEN else 0)))
        self.end_headers()
        self.wfile.write(body)
        if pid == BROKEN:  # the head promised more body than comes: the connection closes mid-answer
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_backend_path_prefixes_requests_and_5xx_is_a_recorded_failure(server: str, tmp_path: Path) -> None:
    spec = TrafficSpec.model_validate({
        "processes": 1, "users": 10, "seed": 11,
        "shape": {"kind": "arrival", "rate_per_s": 100},
        "mix": {"browse": 1, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0},
    })
    Handler.seen = []
    run = LoadRun(spec, [server], tmp_path, 2.0, Catalog(products=50, categories=5, users=10))
    run.start()
    try:
        assert run.wait(20), "the load did not end at its duration"
    finally:
        run.stop()
    reads = [r for r in read_history(tmp_path) if r.op == Op.READ]
    assert len(reads) > 100
    assert Handler.seen and all(p.startswith(f"{PREFIX}/products/") for p in Handler.seen), Handler.seen[:3]
    statuses = Counter(r.status for r in reads)
    assert set(statuses) == {0, 200, 503}, statuses
    # An answer that broke off mid-body is no answer (status 0), not a 200 without a version.
    assert all((r.status == 0) == (r.key == BROKEN) for r in reads)
    assert all((r.status == 503) == (r.key % 2 == 0) for r in reads)
    assert all(r.version == 3 for r in reads if r.status == 200)
    stats = run.stats()
    assert stats.requests == len(reads)
    assert stats.errors == statuses[503] + statuses[0] > statuses[0] > 0


def test_request_targets_are_quoted_only_where_a_request_line_needs_it() -> None:
    plain = "/products/17?fresh=1&x=%2F"
    assert request_target("", plain) == plain
    assert request_target("/shop/v1", "/products/17") == "/shop/v1/products/17"
    # An adapter's key with a space and a non-ASCII letter: percent-encoded as Locust's agent did.
    assert request_target("/api", "/items/caf\u00e9 au lait") == "/api/items/caf%C3%A9%20au%20lait"
    assert request_target("", '/k/a"b<c>') == "/k/a%22b%3Cc%3E"
