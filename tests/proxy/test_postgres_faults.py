"""Toxics against a real PostgreSQL through our proxy."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time

import psycopg
import pytest

from cachechaos.proxy.client import Proxy, ToxiproxyClient

from .conftest import Server, pg_dsn


@pytest.fixture
def pgproxy(toxi: ToxiproxyClient, postgres_server: Server) -> Proxy:
    return toxi.create_proxy("pg", postgres_server.address)


def connect(proxy: Proxy) -> psycopg.Connection:
    return psycopg.connect(pg_dsn(proxy.listen_port), connect_timeout=5, autocommit=True)


def select_one_seconds(conn: psycopg.Connection) -> float:
    start = time.perf_counter()
    assert conn.execute("SELECT 1").fetchone() == (1,)
    return time.perf_counter() - start


def test_latency_then_removal_on_the_same_connection(toxi: ToxiproxyClient,
                                                     pgproxy: Proxy) -> None:
    with connect(pgproxy) as conn:
        pid = conn.info.backend_pid
        assert select_one_seconds(conn) < 0.05
        toxi.add_toxic("pg", "latency", {"latency": 100})
        assert all(select_one_seconds(conn) >= 0.1 for _ in range(3))
        toxi.remove_toxic("pg", "latency_downstream")
        assert max(select_one_seconds(conn) for _ in range(3)) < 0.05
        assert conn.info.backend_pid == pid


def test_timeout_zero_makes_the_query_hang_until_removed(toxi: ToxiproxyClient,
                                                         pgproxy: Proxy) -> None:
    conn = connect(pgproxy)
    toxi.add_toxic("pg", "timeout", {"timeout": 0}, stream="upstream")
    outcome: list[BaseException | tuple[int]] = []

    def query() -> None:
        try:
            outcome.append(conn.execute("SELECT 1").fetchone())  # type: ignore[arg-type]
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=query, daemon=True)
    worker.start()
    worker.join(0.5)
    assert worker.is_alive() and outcome == []  # the client is still waiting: timed out
    toxi.remove_toxic("pg", "timeout_upstream")  # closes the held connection
    worker.join(5)
    assert not worker.is_alive()
    assert isinstance(outcome[0], psycopg.OperationalError)
    conn.close()
    with connect(pgproxy) as fresh:
        assert select_one_seconds(fresh) < 0.05


def test_reset_peer_resets_the_connection(toxi: ToxiproxyClient, pgproxy: Proxy) -> None:
    with connect(pgproxy) as conn:
        toxi.add_toxic("pg", "reset_peer", {"timeout": 0})
        # libpq reports ECONNRESET as "server closed the connection unexpectedly".
        with pytest.raises(psycopg.OperationalError, match="closed the connection unexpectedly"):
            conn.execute("SELECT 1")
    raw = socket.create_connection(("127.0.0.1", pgproxy.listen_port), timeout=5)
    raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest: the server answers one byte
    with pytest.raises(ConnectionResetError):
        raw.recv(10)


def test_disable_closes_and_refuses_then_enable_restores(toxi: ToxiproxyClient,
                                                         pgproxy: Proxy) -> None:
    conn = connect(pgproxy)
    toxi.disable("pg")
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with pytest.raises(psycopg.OperationalError, match="refused"):
        connect(pgproxy)
    toxi.enable("pg")
    with connect(pgproxy) as fresh:
        assert select_one_seconds(fresh) < 0.05


def test_bandwidth_holds_the_rate(toxi: ToxiproxyClient, pgproxy: Proxy) -> None:
    size = 500_000
    with connect(pgproxy) as conn:
        toxi.add_toxic("pg", "bandwidth", {"rate": 1000})
        start = time.perf_counter()
        row = conn.execute("SELECT repeat('x', %s)", (size,)).fetchone()
        elapsed = time.perf_counter() - start
    assert row is not None and len(row[0]) == size
    assert 0.45 <= elapsed <= 0.55, elapsed


def test_slicer_keeps_the_protocol_intact(toxi: ToxiproxyClient, pgproxy: Proxy) -> None:
    for stream in ("upstream", "downstream"):
        toxi.add_toxic("pg", "slicer", {"average_size": 50, "size_variation": 25, "delay": 5},
                       stream=stream)
    with connect(pgproxy) as conn:  # the startup handshake goes through the slicer too
        text = "".join(chr(65 + i % 26) for i in range(200_000))
        row = conn.execute("SELECT md5(%s), length(%s), repeat(%s, 3)",
                           (text, text, text[:1000])).fetchone()
        assert row == (hashlib.md5(text.encode()).hexdigest(), len(text), text[:1000] * 3)
        rows = conn.execute("SELECT g, md5(g::text) FROM generate_series(1, 2000) g").fetchall()
        assert rows == [(g, hashlib.md5(str(g).encode()).hexdigest()) for g in range(1, 2001)]
